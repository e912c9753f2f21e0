"""Pure translation of Kubernetes state and global configuration into the NGINX model."""

from nginx_ingress.build.main import RoutingSummary, build_configuration

__all__ = ["RoutingSummary", "build_configuration"]
