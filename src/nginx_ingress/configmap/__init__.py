"""The controller's ConfigMap: typed parsing, validation and problem reporting.

Pure: `parse_configmap(data, settings)` returns a `GlobalConfig` and the
problems found; it never raises on bad input.
"""

from nginx_ingress.configmap.config import GlobalConfig, ZoneSyncConfig
from nginx_ingress.configmap.parse import ALL_KEYS, ParseResult, parse_configmap
from nginx_ingress.configmap.problems import Problem, Reason

__all__ = [
    "ALL_KEYS",
    "GlobalConfig",
    "ParseResult",
    "Problem",
    "Reason",
    "ZoneSyncConfig",
    "parse_configmap",
]
