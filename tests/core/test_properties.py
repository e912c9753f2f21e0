"""Property: whatever Unicode a key holds, the rendered configuration gains no directive.

For every key, on OSS and on Plus (with zone sync on so its dependent keys are
read), Hypothesis generates arbitrary text and text made of NGINX syntax. Either
the key is reported and the files are byte-identical to the render without it,
or the value is accepted and crossplane finds exactly the baseline's directives,
apart from the ones this key is documented to set, each at most once more (for
`set-real-ip-from`, once per list entry).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from hostile import BASES, KEYS
from nginx_check import Rendered, parse, render, sandbox_settings, shape, write
from valid_samples import VALID

# The directives each key may add or change in the main config and the default server.
KEY_DIRECTIVES: dict[str, frozenset[str]] = {
    "proxy-connect-timeout": frozenset({"proxy_connect_timeout"}),
    "proxy-read-timeout": frozenset({"proxy_read_timeout"}),
    "proxy-send-timeout": frozenset({"proxy_send_timeout"}),
    "client-max-body-size": frozenset({"client_max_body_size"}),
    "proxy-buffering": frozenset({"proxy_buffering"}),
    "proxy-buffers": frozenset({"proxy_buffers"}),
    "proxy-buffer-size": frozenset({"proxy_buffer_size"}),
    "proxy-max-temp-file-size": frozenset({"proxy_max_temp_file_size"}),
    "worker-processes": frozenset({"worker_processes"}),
    "worker-connections": frozenset({"worker_connections"}),
    "worker-shutdown-timeout": frozenset({"worker_shutdown_timeout"}),
    "keepalive-timeout": frozenset({"keepalive_timeout"}),
    "keepalive-requests": frozenset({"keepalive_requests"}),
    "server-names-hash-bucket-size": frozenset({"server_names_hash_bucket_size"}),
    "server-names-hash-max-size": frozenset({"server_names_hash_max_size"}),
    "error-log-level": frozenset({"error_log"}),
    "access-log-off": frozenset({"access_log"}),
    "log-format": frozenset({"log_format"}),
    "log-format-escaping": frozenset({"log_format"}),
    "ssl-protocols": frozenset({"ssl_protocols"}),
    "ssl-ciphers": frozenset({"ssl_ciphers"}),
    "ssl-prefer-server-ciphers": frozenset({"ssl_prefer_server_ciphers"}),
    "http2": frozenset({"listen"}),
    "real-ip-header": frozenset({"real_ip_header"}),
    "set-real-ip-from": frozenset({"set_real_ip_from"}),
    "real-ip-recursive": frozenset({"real_ip_recursive"}),
    "proxy-protocol": frozenset({"listen"}),
    "default-server-return": frozenset({"return"}),
    "server-tokens": frozenset({"server_tokens"}),
    "resolver-addresses": frozenset({"resolver"}),
    "resolver-valid": frozenset({"resolver"}),
    "resolver-ipv6": frozenset({"resolver"}),
    "resolver-timeout": frozenset({"resolver_timeout"}),
    "zone-sync-port": frozenset({"listen", "zone_sync_server"}),
    "zone-sync-resolver-addresses": frozenset({"resolver"}),
    "zone-sync-resolver-valid": frozenset({"resolver"}),
    "zone-sync-resolver-ipv6": frozenset({"resolver"}),
    "zone-sync-interval": frozenset({"zone_sync_interval"}),
    "zone-sync-timeout": frozenset({"zone_sync_timeout"}),
    "zone-sync-connect-timeout": frozenset({"zone_sync_connect_timeout"}),
    "zone-sync-connect-retry-interval": frozenset({"zone_sync_connect_retry_interval"}),
    "zone-sync-buffers": frozenset({"zone_sync_buffers"}),
    "zone-sync-recv-buffer-size": frozenset({"zone_sync_recv_buffer_size"}),
}
# Keys that only upstream and server blocks of Ingresses will read: the main files never change.
NOT_IN_MAIN = frozenset(
    {
        "hsts",
        "hsts-max-age",
        "hsts-include-subdomains",
        "hsts-behind-proxy",
        "ssl-redirect",
        "redirect-to-https",
        "proxy-hide-headers",
        "proxy-pass-headers",
        "proxy-set-headers",
        "lb-method",
        "max-fails",
        "max-conns",
        "fail-timeout",
        "keepalive",
        "upstream-zone-size",
        "external-status-address",
    }
)

SYNTAX = [
    *"0123456789smhdwMyk ;{}#$\"'\\\n\r\t,.:[]-_/=!@abcfxz",
    *("\u2028", "\u0085", "\x00", "\ufeff", "\u200b", "true", "$remote_addr", "${host}"),
    *("{{", "}}", "include ", "load_module ", "::1", "10.0.0.1", "TLSv1.2", "HIGH"),
]
FRAGMENTS = st.lists(st.sampled_from(SYNTAX), max_size=12).map("".join)
ARBITRARY = st.one_of(st.text(st.characters(exclude_categories=()), max_size=60), FRAGMENTS)


def values_for(key: str) -> st.SearchStrategy[str]:
    """Arbitrary text, NGINX syntax, and valid values of the key with syntax around them."""
    valid = st.sampled_from(VALID[key])
    near_valid = st.tuples(FRAGMENTS, valid, FRAGMENTS).map("".join)
    return st.one_of(ARBITRARY, valid, near_valid)


def test_every_key_has_an_oracle() -> None:
    assert set(KEYS) - {"zone-sync"} == set(KEY_DIRECTIVES) | NOT_IN_MAIN


@pytest.mark.parametrize("base", list(BASES))
@pytest.mark.parametrize("key", KEYS)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_no_value_adds_a_directive(
    tmp_path_factory: pytest.TempPathFactory, base: str, key: str, data: st.DataObject
) -> None:
    value = data.draw(values_for(key), label="value")
    settings_, base_data = BASES[base]
    without = render({k: v for k, v in base_data.items() if k != key}, settings_)
    rendered = render({**base_data, key: value}, settings_)
    event("refused" if key in rendered.problem_keys() else "accepted")
    if key in rendered.problem_keys() or key in NOT_IN_MAIN:
        assert rendered.files == without.files
        return
    if key == "zone-sync":
        assert rendered.files in (without.files, render(base_data, settings_).files)
        return
    # Accepted: render again with every path in a scratch directory, so that crossplane
    # follows the includes into our files and not into the machine's /etc/nginx.
    root = tmp_path_factory.mktemp("property")
    sandboxed = sandbox_settings(root, settings_)
    _assert_only_key_directives_change(
        root,
        key,
        value,
        render({**base_data, key: value}, sandboxed),
        render({k: v for k, v in base_data.items() if k != key}, sandboxed),
    )


def _assert_only_key_directives_change(
    root: Path, key: str, value: str, rendered: Rendered, baseline: Rendered
) -> None:
    own = KEY_DIRECTIVES[key]
    got = parse(write(root / "value", rendered.files))
    want = parse(write(root / "baseline", baseline.files))
    assert shape(got, ignore=own) == shape(want, ignore=own)
    allowance = value.count(",") + 1 if key == "set-real-ip-from" else 1
    got_own = Counter(d for (*_, d) in shape(got).elements() if d in own)
    want_own = Counter(d for (*_, d) in shape(want).elements() if d in own)
    for directive in own:
        assert got_own[directive] <= want_own[directive] + allowance, (key, directive)
