"""The offline tools: `render` (manifests in, NGINX files out) and `validate` (problems out).

They run the same pure core as the controller, without a cluster, so a CI
pipeline can check a ConfigMap before it is applied and see the exact files the
controller would write.

Exit status: `validate` gives 0 when clean, 1 when it found problems, 2 when an
input could not be read; `render` gives 0 when it wrote the files (problems are
printed, and their keys fall back to defaults as the controller does) and 2 when
it could not.
"""

from __future__ import annotations

import argparse
import dataclasses
import shutil
import sys
from collections.abc import Mapping
from pathlib import Path

from nginx_ingress.build import build_configuration
from nginx_ingress.cliflags import add_bool_flag, flag_names
from nginx_ingress.configmap import ParseResult, Problem, parse_configmap
from nginx_ingress.manifests import Manifest, ManifestError, load_file, load_paths
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
        required=True,
        type=Path,
        metavar="FILE",
        help="YAML file holding the controller's ConfigMap",
    )
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
        help="check ConfigMaps in YAML files and print one line per problem",
        description="Check ConfigMaps; exit 0 when clean, 1 with problems, 2 on unreadable "
        "input. It takes the controller's flags that change what is a problem: a zone-sync-port "
        "may not take the port of an enabled listener.",
    )
    validate.add_argument(
        "files", nargs="+", type=Path, metavar="FILE", help="YAML files or directories of them"
    )
    add_settings_arguments(validate, renders=False)
    validate.set_defaults(run=run_validate)


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
    for path in args.files:
        try:
            manifests = load_paths([path])
        except ManifestError as error:
            print(f"error: {error}", file=sys.stderr)
            status = EXIT_UNREADABLE
            continue
        for manifest in manifests:
            if manifest.kind != "ConfigMap":
                continue
            for problem in parse_manifest(manifest, settings).problems:
                print(f"{manifest.source}: {manifest.reference}: {problem.line}")
                status = max(status, EXIT_PROBLEMS)
    return status


def run_render(args: argparse.Namespace) -> int:
    settings = _settings_or_exit(args)
    if settings is None:
        return EXIT_UNREADABLE
    try:
        manifest = _choose_configmap(load_file(args.configmap), args.nginx_configmaps)
    except ManifestError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_UNREADABLE
    settings, notes = _with_detected_modules(settings, args.nginx_binary)
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    result = parse_manifest(manifest, settings)
    for problem in result.problems:
        print(f"{manifest.source}: {manifest.reference}: {problem.line}", file=sys.stderr)
    files = render_configuration(
        build_configuration(result.config, settings, zone_sync_service_ready=True)
    )
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


def _choose_configmap(manifests: list[Manifest], wanted: str | None) -> Manifest:
    configmaps = [m for m in manifests if m.kind == "ConfigMap"]
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
