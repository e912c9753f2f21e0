"""The NGINX variables a ConfigMap value may refer to.

NGINX refuses a configuration that names an unknown variable ("unknown variable"),
so a log format with a typo would otherwise pass our checks and fail at `nginx -t`,
far from the ConfigMap that caused it. The list follows the variable index of the
NGINX documentation for the modules an ingress controller's NGINX has built in.
"""

from __future__ import annotations

import re

KNOWN_VARIABLES = frozenset(
    {
        # ngx_http_core_module
        "args",
        "binary_remote_addr",
        "body_bytes_sent",
        "bytes_sent",
        "connection",
        "connection_requests",
        "connection_time",
        "content_length",
        "content_type",
        "document_root",
        "document_uri",
        "host",
        "hostname",
        "https",
        "is_args",
        "limit_rate",
        "msec",
        "nginx_version",
        "pid",
        "pipe",
        "proxy_protocol_addr",
        "proxy_protocol_port",
        "proxy_protocol_server_addr",
        "proxy_protocol_server_port",
        "query_string",
        "realpath_root",
        "remote_addr",
        "remote_port",
        "remote_user",
        "request",
        "request_body",
        "request_body_file",
        "request_completion",
        "request_filename",
        "request_id",
        "request_length",
        "request_method",
        "request_time",
        "request_uri",
        "scheme",
        "server_addr",
        "server_name",
        "server_port",
        "server_protocol",
        "status",
        "tcpinfo_rtt",
        "tcpinfo_rttvar",
        "tcpinfo_snd_cwnd",
        "tcpinfo_rcv_space",
        "time_iso8601",
        "time_local",
        "uri",
        # ngx_http_upstream_module
        "upstream_addr",
        "upstream_bytes_received",
        "upstream_bytes_sent",
        "upstream_cache_status",
        "upstream_connect_time",
        "upstream_header_time",
        "upstream_queue_time",
        "upstream_response_length",
        "upstream_response_time",
        "upstream_status",
        # ngx_http_proxy_module
        "proxy_host",
        "proxy_port",
        "proxy_add_x_forwarded_for",
        # ngx_http_ssl_module
        "ssl_alpn_protocol",
        "ssl_cipher",
        "ssl_ciphers",
        "ssl_client_cert",
        "ssl_client_escaped_cert",
        "ssl_client_fingerprint",
        "ssl_client_i_dn",
        "ssl_client_i_dn_legacy",
        "ssl_client_raw_cert",
        "ssl_client_s_dn",
        "ssl_client_s_dn_legacy",
        "ssl_client_serial",
        "ssl_client_v_end",
        "ssl_client_v_remain",
        "ssl_client_v_start",
        "ssl_client_verify",
        "ssl_curve",
        "ssl_curves",
        "ssl_early_data",
        "ssl_protocol",
        "ssl_server_name",
        "ssl_session_id",
        "ssl_session_reused",
        # ngx_http_realip_module, ngx_http_v2_module, ngx_http_gzip_module
        "realip_remote_addr",
        "realip_remote_port",
        "http2",
        "gzip_ratio",
        # ngx_http_limit_req_module, ngx_http_limit_conn_module
        "limit_req_status",
        "limit_conn_status",
        # ngx_http_stub_status_module
        "connections_active",
        "connections_reading",
        "connections_writing",
        "connections_waiting",
    }
)

# Families of variables named after a header, cookie or argument.
KNOWN_PREFIXES = (
    "arg_",
    "cookie_",
    "http_",
    "sent_http_",
    "sent_trailer_",
    "upstream_cookie_",
    "upstream_http_",
    "upstream_trailer_",
)

# `$name` runs over ASCII letters, digits and `_`; `${name}` delimits it explicitly.
VARIABLE_REFERENCE = re.compile(r"\$(?:\{([A-Za-z0-9_]*)\}|([A-Za-z0-9_]*))", re.ASCII)


def is_known_variable(name: str) -> bool:
    if name in KNOWN_VARIABLES:
        return True
    return any(name.startswith(p) and len(name) > len(p) for p in KNOWN_PREFIXES)


def unknown_variables(text: str) -> list[str]:
    """Every `$` reference in `text` that NGINX would refuse, spelled as written.

    A `$` followed by no name, or `${` without its closing brace, counts as unknown.
    """
    problems: list[str] = []
    position = 0
    while (dollar := text.find("$", position)) != -1:
        match = VARIABLE_REFERENCE.match(text, dollar)
        assert match is not None  # the pattern matches any `$`, possibly with an empty name
        name = match.group(1) if match.group(1) is not None else match.group(2)
        if not name or not is_known_variable(name) or name[0].isdigit():
            shown = match.group(0) if name else text[dollar : dollar + 2]
            problems.append(shown)
        position = max(match.end(), dollar + 1)
    return problems
