"""`DevCluster`: the development API server as one object to start, stop and drive
from tests (seed, inspect, compact, drop watches, inject faults, publish endpoints).

A development and test tool, not a production component.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from nginx_ingress_dev.devcluster.api import Api, ApiSettings
from nginx_ingress_dev.devcluster.authn import Authenticator, UserInfo
from nginx_ingress_dev.devcluster.authz import RbacAuthorizer
from nginx_ingress_dev.devcluster.errors import NotFound
from nginx_ingress_dev.devcluster.hooks import (
    FaultInjector,
    FaultRule,
    Ports,
    RequestLog,
    RequestRecord,
    endpoint_slice,
)
from nginx_ingress_dev.devcluster.kubeconfig import (
    NO_AUTHENTICATION_TOKEN,
    Credentials,
    kubeconfig_document,
    write_kubeconfig,
)
from nginx_ingress_dev.devcluster.listen import Authentication, exposure_warning
from nginx_ingress_dev.devcluster.patch import deep_copy
from nginx_ingress_dev.devcluster.resources import DEFAULT_RESOURCES, ResourceTable, ResourceType
from nginx_ingress_dev.devcluster.seeding import SeedReport, seed_objects, seed_paths
from nginx_ingress_dev.devcluster.server import DevHTTPServer, TlsConfig
from nginx_ingress_dev.devcluster.store import Store

log = logging.getLogger(__name__)


class DevCluster:
    """A Kubernetes-compatible API server on `host:port` (port 0: a free one).

    `tokens` maps bearer tokens to users (a plain string is a user name); with
    `tls.client_ca_file`, client certificates authenticate too. With neither,
    every request is an administrator. `rbac` enforces RBAC for authenticated users.

    A host other than a loopback address raises `ListenRefused` unless authentication
    is configured or `insecure_listen_anywhere` is set (see listen.py); either way
    `exposure_warning` holds the warning, which is also logged.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        resources: ResourceTable = DEFAULT_RESOURCES,
        tls: TlsConfig | None = None,
        tokens: Mapping[str, UserInfo | str] | None = None,
        rbac: RbacAuthorizer | None = None,
        bookmark_interval: float = 60.0,
        default_watch_timeout: float = 1800.0,
        history_limit: int = 10_000,
        watch_queue_size: int = 1_000,
        request_log_size: int = 10_000,
        idle_timeout: float = 120.0,
        log_requests: bool = False,
        insecure_listen_anywhere: bool = False,
    ) -> None:
        self._address = (host, port)
        self._tls = tls
        user_tokens = {
            token: user if isinstance(user, UserInfo) else UserInfo(user)
            for token, user in (tokens or {}).items()
        }
        self.authentication = Authentication(
            tokens=bool(user_tokens),
            client_certificates=tls is not None and tls.client_ca_file is not None,
            tls=tls is not None,
        )
        self.exposure_warning = exposure_warning(
            host, self.authentication, insecure_listen_anywhere=insecure_listen_anywhere
        )
        if self.exposure_warning is not None:
            log.warning("devcluster: %s", self.exposure_warning)
        self.store = Store(
            resources, history_limit=history_limit, watch_queue_size=watch_queue_size
        )
        self._request_log = RequestLog(request_log_size)
        self._faults = FaultInjector()
        self._stopping = threading.Event()
        self.api = Api(
            self.store,
            settings=ApiSettings(bookmark_interval, default_watch_timeout, log_requests),
            authenticator=Authenticator(
                user_tokens, client_certificates=self.authentication.client_certificates
            ),
            authorizer=rbac,
            faults=self._faults,
            request_log=self._request_log,
            stopping=self._stopping,
        )
        self._idle_timeout = idle_timeout
        self._server: DevHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> Self:
        if self._server is not None:
            raise RuntimeError("the development API server is already running")
        self._stopping.clear()
        server = DevHTTPServer(
            self._address, self.api, tls=self._tls, idle_timeout=self._idle_timeout
        )
        self.api.set_server_address(f"{self._address[0]}:{server.port}")
        thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name=f"devcluster-serve-{server.port}",
            daemon=True,
        )
        thread.start()
        self._server, self._thread = server, thread
        log.info("devcluster: serving the Kubernetes API on %s (development only)", self.url)
        return self

    def stop(self) -> None:
        """Stop serving: ends open watches and connections, releases the port."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        server.shutdown()
        server.server_close()
        thread.join(timeout=5.0)
        self._server = self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the development API server is not running")
        return self._server.port

    @property
    def host(self) -> str:
        return self._address[0]

    @property
    def url(self) -> str:
        scheme = "https" if self._tls is not None else "http"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{host}:{self.port}"

    def write_kubeconfig(
        self,
        path: str | Path,
        *,
        token: str | None = None,
        client_cert_file: Path | None = None,
        client_key_file: Path | None = None,
        ca_file: Path | None = None,
        namespace: str = "default",
    ) -> Path:
        """A kubeconfig for this server. With TLS, `ca_file` is the CA that signed the
        server certificate (default: the server certificate itself).

        Without credentials, a TLS server without authentication gets the placeholder
        token `NO_AUTHENTICATION_TOKEN`, which it ignores: a kubeconfig user with no
        credentials makes kubectl prompt for a username on HTTPS (and fail on EOF
        when nothing can answer)."""
        if self._tls is not None and ca_file is None:
            ca_file = self._tls.cert_file
        credentials = Credentials(token, client_cert_file, client_key_file)
        if self._tls is not None and not credentials.present and not self.authentication.enabled:
            credentials = Credentials(token=NO_AUTHENTICATION_TOKEN)
        document = kubeconfig_document(
            self.url, ca_file=ca_file, credentials=credentials, namespace=namespace
        )
        return write_kubeconfig(path, document)

    # --- state hooks ----------------------------------------------------------------------

    def _resource(self, kind: str, api_version: str | None) -> ResourceType:
        return self.store.resources.find(kind, api_version)

    def seed(self, objects: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Create each object, or replace it if it exists, status included; returns them
        as stored. Missing Namespaces are created. Bypasses authentication, RBAC and
        injected faults. Raises `SeedError` (one line, naming the object) if one cannot
        be seeded."""
        report = seed_objects(self.store, objects)
        return [deep_copy(stored.obj) for stored in report.objects]

    def seed_yaml(self, path: str | Path) -> list[dict[str, Any]]:
        """`seed` from a YAML/JSON file or a directory of them (Namespaces first)."""
        return [deep_copy(stored.obj) for stored in self.seed_files([path]).objects]

    def seed_files(self, paths: Iterable[str | Path]) -> SeedReport:
        """`seed` from files and directories, with what was done: the objects, the
        Namespaces created for them, and objects defined more than once."""
        return seed_paths(self.store, paths)

    def get_object(
        self, kind: str, namespace: str, name: str, *, api_version: str | None = None
    ) -> dict[str, Any] | None:
        """The stored object (a copy), by kind, plural or short name; None if absent."""
        resource = self._resource(kind, api_version)
        stored = self.store.find(resource, namespace if resource.namespaced else "", name)
        return None if stored is None else deep_copy(stored.obj)

    def objects(
        self, kind: str, namespace: str | None = None, *, api_version: str | None = None
    ) -> list[dict[str, Any]]:
        """All stored objects of a kind (copies), in one namespace or all of them."""
        resource = self._resource(kind, api_version)
        return [deep_copy(s.obj) for s in self.store.snapshot(resource, namespace)]

    def delete_object(
        self, kind: str, namespace: str, name: str, *, api_version: str | None = None
    ) -> bool:
        """Delete as the API would (finalizers, garbage collection); False if absent."""
        resource = self._resource(kind, api_version)
        try:
            self.store.delete(resource, namespace if resource.namespaced else "", name)
        except NotFound:
            return False
        return True

    @property
    def request_log(self) -> list[RequestRecord]:
        return self._request_log.records()

    def clear_request_log(self) -> None:
        self._request_log.clear()

    def compact(self) -> int:
        """Forget the change history: watches from older resourceVersions get 410 Expired;
        the current resourceVersion stays watchable. Returns it."""
        return self.store.compact()

    def drop_watches(self) -> int:
        """End every open watch (clients reconnect); returns how many were open."""
        return self.store.close_watchers("dropped by a test hook")

    def inject(
        self,
        path_pattern: str,
        status: int | None = 429,
        *,
        retry_after: int | None = None,
        times: int | None = None,
        latency: float = 0.0,
        method: str | None = None,
    ) -> FaultRule:
        """Answer matching requests with `status` (and `Retry-After`), after `latency`
        seconds; `status=None` only delays. See `FaultRule`."""
        rule = FaultRule(path_pattern, status, retry_after, times, latency, method)
        self._faults.add(rule)
        return rule

    def clear_faults(self) -> None:
        self._faults.clear()

    def publish_endpoints(
        self, namespace: str, service: str, addresses: Sequence[str], ports: Ports
    ) -> dict[str, Any]:
        """Write the EndpointSlice (label `kubernetes.io/service-name`) that lists
        `addresses` as ready endpoints of `service`, owned by the Service if it exists."""
        service_resource = self._resource("services", "v1")
        owner = self.store.find(service_resource, namespace, service)
        slice_object = endpoint_slice(
            namespace, service, addresses, ports, owner=None if owner is None else owner.obj
        )
        return self.seed([slice_object])[0]

    def wait_for_watchers(
        self, kind: str, count: int = 1, *, timeout: float = 5.0, api_version: str | None = None
    ) -> bool:
        """Block until at least `count` watches of `kind` are open (a test's way to know a
        client's watch is established before it makes changes)."""
        return self.store.wait_for_watchers(self._resource(kind, api_version), count, timeout)
