"""Pure translation of Kubernetes state and global configuration into the NGINX model."""

from nginx_ingress.build.main import build_configuration

__all__ = ["build_configuration"]
