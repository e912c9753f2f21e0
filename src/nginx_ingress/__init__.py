"""nginx-ingress: a Kubernetes Ingress controller for NGINX with zone-sync state sharing."""

__version__ = "0.1.0.dev0"
