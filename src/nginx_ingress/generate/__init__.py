"""Pure generation: the cluster's objects and the global configuration → the NGINX model.

NIC's `internal/configs` counterpart. `main` builds `nginx.conf` and the catch-all
server from the ConfigMap and the flags; `ingress` builds one Ingress's file from
the objects it refers to; `table` keeps every Ingress's result up to date, change
by change. No I/O, no clock (the caller passes the time), no globals.
"""

from nginx_ingress.generate.main import RoutingSummary, build_configuration

__all__ = ["RoutingSummary", "build_configuration"]
