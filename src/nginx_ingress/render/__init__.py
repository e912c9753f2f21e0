"""Model → NGINX files, with Jinja2 templates that can only print escaped, typed values."""

from nginx_ingress.render.escape import UnsafeValue
from nginx_ingress.render.files import render_configuration

__all__ = ["UnsafeValue", "render_configuration"]
