"""The offline tools: `render` (manifests in, NGINX files out) and `validate` (problems out).

They run the same pure core as the controller, without a cluster, so a CI
pipeline can check a ConfigMap and Ingresses before they are applied and see the
exact files the controller would write. Manifests are read into the same typed
views the controller's informers cache, and routed by the same routing table.

Exit status: `validate` gives 0 when clean, 1 when it found problems, 2 when an
input could not be read; `render` gives 0 when it wrote the files (problems are
printed, and their keys fall back to defaults as the controller does) and 2 when
it could not.
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
import shutil
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from nginx_ingress.cliflags import add_bool_flag, flag_names
from nginx_ingress.configmap import GlobalConfig, ParseResult, Problem, Reason, parse_configmap
from nginx_ingress.generate import RoutingSummary, build_configuration
from nginx_ingress.generate.classes import CONTROLLER_NAME
from nginx_ingress.generate.source import StaticSource
from nginx_ingress.generate.table import Changes, IngressReport, Outcome, RoutingTable
from nginx_ingress.generate.zonesync_tls import (
    check_zone_sync_tls,
    zone_sync_tls_files,
    zone_sync_tls_model,
)
from nginx_ingress.manifests import Manifest, ManifestError, load_file, load_paths
from nginx_ingress.model import ZoneSyncTls
from nginx_ingress.nginx.binary import (
    NginxBinaryError,
    NginxBuild,
    inspect_binary,
    mode_mismatch,
    plan_modules,
)
from nginx_ingress.nginx.ownership import ConfDirError, claim
from nginx_ingress.nginx.tree import write_whole
from nginx_ingress.render import render_configuration
from nginx_ingress.resources import (
    CertificateSecret,
    EndpointSlice,
    Ingress,
    IngressClass,
    Secret,
    Service,
)
from nginx_ingress.settings import Settings, SettingsError
from nginx_ingress.settingsargs import add_settings_arguments, settings_from_arguments

EXIT_CLEAN, EXIT_PROBLEMS, EXIT_UNREADABLE = 0, 1, 2


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    render = commands.add_parser(
        "render",
        help="render the NGINX configuration for a ConfigMap, without a cluster",
        description="Render the files the controller would write for this ConfigMap.",
    )
    render.add_argument(
        *flag_names("configmap"),
        type=Path,
        metavar="FILE",
        help="YAML file holding the controller's ConfigMap (default: the one in --manifests, "
        "else the defaults)",
    )
    render.add_argument(
        *flag_names("manifests"),
        type=Path,
        action="append",
        default=[],
        metavar="PATH",
        help="YAML/JSON files or directories of Ingresses, IngressClasses, Services, "
        "EndpointSlices and TLS Secrets to route (default none; repeatable)",
    )
    _add_ingress_class(render)
    render.add_argument(
        *flag_names("nginx-configmaps"),
        metavar="NAMESPACE/NAME",
        help="which ConfigMap to use when FILE holds several (default: its only one)",
    )
    render.add_argument(
        *flag_names("output"),
        required=True,
        type=Path,
        metavar="DIR",
        help="directory to write nginx.conf, conf.d/ and stream-conf.d/ into",
    )
    render.add_argument(
        *flag_names("nginx-binary"),
        default="nginx",
        metavar="PATH",
        help="the NGINX to ask (nginx -V) whether its stream module must be loaded "
        "(default %(default)s; without one, it is assumed built in)",
    )
    add_bool_flag(
        render,
        "take-over-output",
        default=False,
        help="write into an --output directory holding files nginx-ingress did not write",
    )
    add_settings_arguments(render)
    render.set_defaults(run=run_render)

    validate = commands.add_parser(
        "validate",
        help="check ConfigMaps and Ingresses in YAML files and print one line per problem",
        description="Check ConfigMaps and Ingresses; exit 0 when clean, 1 with problems, 2 on "
        "unreadable input. It takes the controller's flags that change what is a problem: a "
        "zone-sync-port may not take the port of an enabled listener. Services, endpoints and "
        "Secrets an Ingress names but the files do not hold are not problems: the cluster may "
        "have them.",
    )
    validate.add_argument(
        "files", nargs="+", type=Path, metavar="FILE", help="YAML files or directories of them"
    )
    _add_ingress_class(validate)
    add_settings_arguments(validate, renders=False)
    validate.set_defaults(run=run_validate)


def _add_ingress_class(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        *flag_names("ingress-class"),
        default="nginx",
        metavar="CLASS",
        help="route the Ingresses of this class, as the controller would (default %(default)s)",
    )


def parse_manifest(manifest: Manifest, settings: Settings) -> ParseResult:
    """A ConfigMap object's data parsed; a `data` that is not a map is itself a problem."""
    data = manifest.object.get("data")
    if data is not None and not isinstance(data, Mapping):
        result = parse_configmap(None, settings)
        problem = Problem("data", "must be a map of keys to string values; ignored")
        return ParseResult(result.config, (problem,))
    return parse_configmap(data, settings)


def run_validate(args: argparse.Namespace) -> int:
    settings = _settings_or_exit(args)
    if settings is None:
        return EXIT_UNREADABLE
    status = EXIT_CLEAN
    everything: list[Manifest] = []
    for path in args.files:
        try:
            manifests = load_paths([path])
        except ManifestError as error:
            print(f"error: {error}", file=sys.stderr)
            status = EXIT_UNREADABLE
            continue
        everything.extend(manifests)
        for manifest in manifests:
            if manifest.kind != "ConfigMap":
                continue
            for problem in parse_manifest(manifest, settings).problems:
                print(f"{manifest.source}: {manifest.reference}: {problem.line}")
                status = max(status, EXIT_PROBLEMS)
    configmap = parse_configmap(None, settings).config
    for line in _route(everything, settings, args.ingress_class, configmap).lines(
        with_missing=False
    ):
        print(line)
        status = max(status, EXIT_PROBLEMS)
    return status


def run_render(args: argparse.Namespace) -> int:
    settings = _settings_or_exit(args)
    if settings is None:
        return EXIT_UNREADABLE
    try:
        manifests = load_paths(args.manifests)
        candidates = load_file(args.configmap) if args.configmap is not None else manifests
        manifest = _choose_configmap(
            candidates, args.nginx_configmaps, required=args.configmap is not None
        )
    except ManifestError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_UNREADABLE
    settings, notes = _with_detected_modules(settings, args.nginx_binary)
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    result = (
        parse_manifest(manifest, settings)
        if manifest is not None
        else parse_configmap(None, settings)
    )
    for problem in result.problems:
        assert manifest is not None
        print(f"{manifest.source}: {manifest.reference}: {problem.line}", file=sys.stderr)
    routed = _route(manifests, settings, args.ingress_class, result.config)
    for line in routed.lines(with_missing=True):
        print(line, file=sys.stderr)
    tls_model, tls_files, tls_problem = _zone_sync_tls(manifests, result.config, settings)
    if tls_problem is not None:
        assert manifest is not None
        print(f"{manifest.source}: {manifest.reference}: {tls_problem}", file=sys.stderr)
    files = render_configuration(
        build_configuration(
            result.config,
            settings,
            zone_sync_service_ready=True,
            routing=routed.summary,
            zone_sync_tls=tls_model,
        )
    )
    files.update(routed.files)
    files.update(tls_files)
    try:
        claim(
            args.output,
            take_over=args.take_over_output,
            flag="--output",
            take_over_flag="--take-over-output",
        )
    except ConfDirError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_UNREADABLE
    try:
        write_whole(args.output, files)
    except OSError as error:
        print(f"error: cannot write {args.output}: {error}", file=sys.stderr)
        return EXIT_UNREADABLE
    for relative in sorted(files):
        print(args.output / relative)
    return EXIT_CLEAN


def _zone_sync_tls(
    manifests: list[Manifest], config: GlobalConfig, settings: Settings
) -> tuple[ZoneSyncTls | None, dict[str, str], str | None]:
    """Zone-sync TLS from the Secrets among the manifests: (model, files, None), or
    (None, {}, the ZoneSyncTLSInvalid line) when TLS is asked for and cannot run. A
    problem of the keys alone is already among the ConfigMap's."""
    tls = config.zone_sync.tls
    if not config.zone_sync.enabled or tls is None or tls.unusable is not None:
        return None, {}, None
    secrets = {
        (m.namespace, m.name): CertificateSecret.from_object(_string_data(_with_namespace(m)))
        for m in manifests
        if m.kind == "Secret"
    }
    check = check_zone_sync_tls(
        tls, lambda ref: secrets.get((ref.namespace, ref.name)), settings, time.time()
    )
    if check.material is None:
        line = f"{Reason.ZONE_SYNC_TLS_INVALID}: zone sync stays off: {check.problem}"
        return None, {}, line
    model = zone_sync_tls_model(tls, check.material, settings)
    return model, zone_sync_tls_files(check.material), None


@dataclasses.dataclass(frozen=True)
class _Routed:
    files: Mapping[str, str]
    summary: RoutingSummary
    reports: tuple[tuple[Manifest, IngressReport], ...]

    def lines(self, *, with_missing: bool) -> list[str]:
        """One line per problem, in the words of the controller's events."""
        lines = []
        for manifest, report in self.reports:
            reason = "Rejected" if report.outcome == Outcome.REJECTED else "AddedOrUpdatedWithError"
            for problem in report.problems:
                if problem.reason is Reason.MISSING and not with_missing:
                    continue
                lines.append(f"{manifest.source}: {manifest.reference}: {reason}: {problem.line}")
        return lines


def _route(
    manifests: list[Manifest], settings: Settings, ingress_class: str, config: GlobalConfig
) -> _Routed:
    """The routing table over the manifests' objects, as the controller would build it."""
    views: dict[str, list[object]] = {kind: [] for kind in _VIEWS}
    sources: dict[str, Manifest] = {}
    for manifest in manifests:
        make = _VIEWS.get(manifest.kind)
        if make is None:
            continue
        obj = _with_namespace(manifest)
        view = make(obj)
        views[manifest.kind].append(view)
        if manifest.kind == "Ingress":
            sources[f"{manifest.namespace}/{manifest.name}"] = manifest
    classes = [v for v in views["IngressClass"] if isinstance(v, IngressClass)]
    if not any(c.name == ingress_class for c in classes):
        # Offline, the class the flags name is taken to exist (it is the cluster's to have).
        classes.append(IngressClass(ingress_class, CONTROLLER_NAME, is_default=False))
    source = StaticSource(
        [v for v in views["Ingress"] if isinstance(v, Ingress)],
        [v for v in views["Service"] if isinstance(v, Service)],
        [v for v in views["EndpointSlice"] if isinstance(v, EndpointSlice)],
        [v for v in views["Secret"] if isinstance(v, Secret)],
        classes,
    )
    table = RoutingTable(settings, ingress_class)
    update = table.update(Changes(everything=True), source, config, time.time())
    return _Routed(
        files=table.files,
        summary=RoutingSummary(None, table.catch_all_root, table.longest_host),
        reports=tuple(
            (sources[report.key], report)
            for report in update.reports
            if report.problems and report.key in sources
        ),
    )


_VIEWS: dict[str, Callable[[Mapping[str, Any]], object]] = {
    "Ingress": Ingress.from_object,
    "IngressClass": IngressClass.from_object,
    "Service": Service.from_object,
    "EndpointSlice": EndpointSlice.from_object,
    "Secret": lambda obj: Secret.from_object(_string_data(obj)),
}


def _with_namespace(manifest: Manifest) -> dict[str, Any]:
    """The object with the namespace `kubectl apply` would give it ("default" when unset)."""
    obj = dict(manifest.object)
    metadata = obj.get("metadata")
    if isinstance(metadata, Mapping) and not metadata.get("namespace"):
        obj["metadata"] = {**metadata, "namespace": manifest.namespace}
    return obj


def _string_data(obj: Mapping[str, Any]) -> dict[str, Any]:
    """A Secret's `stringData` folded into `data`, as the API server does on write."""
    extra = obj.get("stringData")
    if not isinstance(extra, Mapping):
        return dict(obj)
    data = dict(obj.get("data") or {}) if isinstance(obj.get("data"), Mapping) else {}
    for key, value in extra.items():
        if isinstance(value, str):
            data[key] = base64.b64encode(value.encode()).decode()
    return {**obj, "data": data}


def _with_detected_modules(settings: Settings, binary: str) -> tuple[Settings, list[str]]:
    """`settings` with the modules the local NGINX needs, and what was assumed, for stderr.

    The local NGINX is asked only when it is the kind the files are for: files
    rendered with -nginx-plus on a machine with NGINX OSS are for another machine,
    whose modules this one cannot tell.
    """
    notes: list[str] = []
    build: NginxBuild | None = None
    found = shutil.which(binary)
    if found is None:
        notes.append(f"no NGINX binary {binary!r} here to ask (-nginx-binary)")
    else:
        try:
            build = inspect_binary(found)
        except NginxBinaryError as error:
            notes.append(str(error))
        else:
            if mode_mismatch(build, found, plus=settings.nginx_plus) is not None:
                kind = "NGINX Plus" if settings.nginx_plus else "NGINX OSS"
                notes.append(f"{found} is {build.describe()}, not the {kind} these files are for")
                build = None
    plan = plan_modules(build, settings.load_modules)
    notes.extend(plan.notes)
    detected = dataclasses.replace(
        settings, load_modules=plan.load_modules, stream_module=plan.stream
    )
    return detected, notes


def _settings_or_exit(args: argparse.Namespace) -> Settings | None:
    try:
        return settings_from_arguments(args)
    except SettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        return None


def _choose_configmap(
    manifests: list[Manifest], wanted: str | None, *, required: bool = True
) -> Manifest | None:
    """The ConfigMap to render with; None (the defaults) when not `required` and none is
    in the manifests."""
    configmaps = [m for m in manifests if m.kind == "ConfigMap"]
    if not configmaps and not required and wanted is None:
        return None
    if wanted is not None:
        namespace, _, name = wanted.rpartition("/")
        chosen = [
            m for m in configmaps if m.name == name and (not namespace or m.namespace == namespace)
        ]
        if len(chosen) != 1:
            raise ManifestError(f"no single ConfigMap {wanted} in the file")
        return chosen[0]
    if len(configmaps) != 1:
        raise ManifestError(
            f"the file holds {len(configmaps)} ConfigMaps; name one with -nginx-configmaps NS/NAME"
        )
    return configmaps[0]
