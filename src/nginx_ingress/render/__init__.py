"""Model → NGINX files, with Jinja2 templates that can only print escaped, typed values."""

from nginx_ingress.layout import CONFIG_VERSION_FILE
from nginx_ingress.render.escape import UnsafeValue
from nginx_ingress.render.files import (
    config_version_files,
    render_catch_all,
    render_config_version,
    render_configuration,
    render_ingress,
)

__all__ = [
    "CONFIG_VERSION_FILE",
    "UnsafeValue",
    "config_version_files",
    "render_catch_all",
    "render_config_version",
    "render_configuration",
    "render_ingress",
]
