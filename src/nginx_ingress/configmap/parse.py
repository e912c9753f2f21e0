"""ConfigMap data → `GlobalConfig` and the problems found on the way.

Pure: no I/O, no clock. A bad value never stops the others: it is reported and
its key keeps its default. The same data always gives the same result, problems
in the same order, so the controller can deduplicate events by comparing them.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from nginx_ingress.configmap.config import GlobalConfig
from nginx_ingress.configmap.keys import (
    CORE_KEYS_BY_NAME,
    KeySpec,
    default_of,
    describe_default,
)
from nginx_ingress.configmap.parsers import InvalidValue
from nginx_ingress.configmap.problems import Problem, Reason, show
from nginx_ingress.configmap.zonesync import ZONE_SYNC_KEYS, parse_zone_sync
from nginx_ingress.settings import Settings
from nginx_ingress.values import Buffers, Size

ALL_KEYS = (*CORE_KEYS_BY_NAME, *ZONE_SYNC_KEYS)


@dataclass(frozen=True, slots=True)
class ParseResult:
    config: GlobalConfig
    problems: tuple[Problem, ...]


def parse_configmap(data: Mapping[Any, object] | None, settings: Settings) -> ParseResult:
    """Parse the `data` of the controller's ConfigMap (None when it has none)."""
    problems: list[Problem] = []
    strings: dict[str, str] = {}
    for key, value in sorted((data or {}).items(), key=lambda item: str(item[0])):
        name = str(key)
        if name not in CORE_KEYS_BY_NAME and name not in ZONE_SYNC_KEYS:
            problems.append(_unknown_key(name))
        elif not isinstance(value, str):
            problems.append(
                Problem(
                    name, "must be a string; quote it in the YAML", show(repr(value)), "the default"
                )
            )
        else:
            strings[name] = value

    # Heterogeneous values, each checked by its key's parser: typed per key, not here.
    fields: dict[str, Any] = {}
    for name, text in strings.items():
        if (spec := CORE_KEYS_BY_NAME.get(name)) is not None:
            parsed = _parse_core(spec, text, settings, problems)
            if parsed is not _DEFAULT:
                fields[spec.field] = parsed
    if settings.nginx_plus and "upstream_zone_size" not in fields:
        fields["upstream_zone_size"] = default_of(CORE_KEYS_BY_NAME["upstream-zone-size"], settings)

    zone_sync, zone_sync_problems = parse_zone_sync(strings, settings)
    problems.extend(zone_sync_problems)
    config = dataclasses.replace(GlobalConfig(), zone_sync=zone_sync, **fields)
    config = _check_proxy_buffers(config, strings, problems)
    problems.sort(key=lambda problem: problem.key)
    return ParseResult(config, tuple(problems))


_DEFAULT = object()


def _parse_core(spec: KeySpec, text: str, settings: Settings, problems: list[Problem]) -> object:
    if spec.plus_only and not settings.nginx_plus:
        problems.append(Problem(spec.key, "requires NGINX Plus (-nginx-plus); ignored", show(text)))
        return _DEFAULT
    try:
        return spec.parse(text, settings)
    except InvalidValue as error:
        problems.append(Problem(spec.key, str(error), show(text), describe_default(spec, settings)))
        return _DEFAULT


def _unknown_key(name: str) -> Problem:
    message = "unknown key, ignored"
    close = difflib.get_close_matches(name.strip().lower(), ALL_KEYS, n=1, cutoff=0.8)
    if close:
        message += f"; did you mean {close[0]!r}?"
    return Problem(name, message, reason=Reason.UNKNOWN_KEY)


# NGINX's defaults for these on the usual 4 KiB page size.
_DEFAULT_PROXY_BUFFERS = Buffers(8, Size("4k", 4096))
_DEFAULT_PROXY_BUFFER_SIZE = Size("4k", 4096)
_MAX_TEMP_FILE_SIZE = 1024 * 1024 * 1024


def _check_proxy_buffers(
    config: GlobalConfig, strings: Mapping[str, str], problems: list[Problem]
) -> GlobalConfig:
    """Refuse buffer settings NGINX would refuse, blaming `proxy-buffer-size` first.

    NGINX needs at least two `proxy_buffers`, a busy size (twice the larger of
    `proxy_buffer_size` and one buffer) of at most all buffers but one, and no
    buffer above the 1024m temporary-file limit. Each check was seen to fail
    `nginx -t` otherwise.
    """
    for key, field in (
        ("proxy-buffer-size", "proxy_buffer_size"),
        ("proxy-buffers", "proxy_buffers"),
    ):
        reason = _proxy_buffers_refusal(config)
        if reason is None or getattr(config, field) is None:
            continue
        problems.append(Problem(key, reason, show(strings[key]), "NGINX's default"))
        config = dataclasses.replace(config, **{field: None})  # type: ignore[arg-type]
    reason = max_temp_file_size_refusal(
        config.proxy_max_temp_file_size, config.proxy_buffers, config.proxy_buffer_size
    )
    if reason is not None:
        key = "proxy-max-temp-file-size"
        problems.append(Problem(key, reason, show(strings[key]), "NGINX's default"))
        config = dataclasses.replace(config, proxy_max_temp_file_size=None)
    return config


def _proxy_buffers_refusal(config: GlobalConfig) -> str | None:
    return proxy_buffers_refusal(config.proxy_buffers, config.proxy_buffer_size)


def max_temp_file_size_refusal(
    max_temp_file_size: Size | None, buffers: Buffers | None, buffer_size: Size | None
) -> str | None:
    """Why NGINX would refuse this `proxy_max_temp_file_size` with these buffers, or None.

    NGINX needs 0 (no temporary files) or at least the larger of `proxy_buffer_size`
    and one buffer.
    """
    if max_temp_file_size is None or max_temp_file_size.bytes == 0:
        return None
    buffers = buffers or _DEFAULT_PROXY_BUFFERS
    largest = max((buffer_size or _DEFAULT_PROXY_BUFFER_SIZE).bytes, buffers.size.bytes)
    if max_temp_file_size.bytes < largest:
        return (
            f"proxy-max-temp-file-size must be 0 or at least {largest} bytes, the larger of "
            "proxy-buffer-size and one proxy buffer"
        )
    return None


def proxy_buffers_refusal(buffers: Buffers | None, buffer_size: Size | None) -> str | None:
    """Why NGINX would refuse these buffer settings (None: NGINX's own default), or None."""
    buffers = buffers or _DEFAULT_PROXY_BUFFERS
    buffer_size = buffer_size or _DEFAULT_PROXY_BUFFER_SIZE
    largest = max(buffer_size.bytes, buffers.size.bytes)
    if buffers.number < 2:
        return "NGINX needs at least 2 proxy buffers"
    if 2 * largest > (buffers.number - 1) * buffers.size.bytes:
        return (
            f"does not fit proxy buffers {buffers}: NGINX needs twice the larger of "
            "proxy-buffer-size and one buffer to fit in all proxy buffers but one"
        )
    if largest > _MAX_TEMP_FILE_SIZE:
        return "is larger than NGINX's 1024m temporary file limit"
    return None
