"""Render the model into `{relative path: text}`, the tree the NGINX manager writes."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import PurePosixPath

import jinja2

from nginx_ingress.layout import CONFIG_VERSION_FILE, DEFAULT_SERVER_FILE, MAIN_FILE
from nginx_ingress.model import Configuration, ConfigVersion, IngressConfig
from nginx_ingress.render.escape import Rendered, nginx_arg


@cache
def environment() -> jinja2.Environment:
    """The one Jinja2 environment, built and its templates compiled once per process.

    `finalize=nginx_arg` makes the escaping function the only way out of a `{{ }}`;
    `StrictUndefined` turns a misspelt model field into an error instead of an empty
    argument; no autoescape, because HTML escaping is the wrong language here.
    """
    return jinja2.Environment(
        loader=jinja2.PackageLoader("nginx_ingress.render", "templates"),
        undefined=jinja2.StrictUndefined,
        finalize=nginx_arg,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,
    )


def render_configuration(configuration: Configuration) -> dict[str, str]:
    """The main config, the default server and the config-version server, keyed by path
    relative to the conf dir."""
    env = environment()
    return {
        MAIN_FILE: env.get_template("nginx.conf.j2").render(main=configuration.main),
        DEFAULT_SERVER_FILE: env.get_template("default-server.conf.j2").render(
            server=configuration.default_server
        ),
        CONFIG_VERSION_FILE: render_config_version(configuration.config_version),
    }


def render_ingress(config: IngressConfig) -> str:
    """The file of one Ingress: its upstreams and a server per host."""
    return _template("ingress.conf.j2").render(ingress=config, proxy_block=_proxy_block(config))


def render_catch_all(config: IngressConfig) -> str:
    """The locations of an Ingress's rules without a host, for the catch-all server."""
    return _template("catch-all.conf.j2").render(ingress=config, proxy_block=_proxy_block(config))


def _proxy_block(config: IngressConfig) -> Rendered:
    """The proxy settings every location of the Ingress shares, rendered once."""
    return Rendered(_template("proxy.j2").render(proxy=config.proxy))


@cache
def _template(name: str) -> jinja2.Template:
    """A compiled template, looked up once (Jinja2's own lookup costs several µs a call)."""
    return environment().get_template(name)


def render_config_version(version: ConfigVersion) -> str:
    """The config-version server alone: the NGINX manager rewrites it on every apply."""
    return environment().get_template("config-version.conf.j2").render(version=version)


def config_version_files(socket: PurePosixPath) -> Callable[[int], tuple[str, str]]:
    """What the NGINX manager calls for each new version: (relative path, text)."""
    return lambda version: (
        CONFIG_VERSION_FILE,
        render_config_version(ConfigVersion(version, socket)),
    )
