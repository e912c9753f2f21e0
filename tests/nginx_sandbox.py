"""A real NGINX under the NGINX manager, on free loopback ports in a scratch directory.

Used by the manager, observe and controller tests: it builds `Settings` whose
every path and port is private to the test, renders trees for them, and sends
HTTP requests through the running NGINX.
"""

from __future__ import annotations

import dataclasses
import http.client
import shutil
import socket
import tempfile
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from nginx_ingress.configmap import parse_configmap
from nginx_ingress.generate import build_configuration
from nginx_ingress.nginx.manager import ManagerSettings, NginxManager, ReloadObserver
from nginx_ingress.render import config_version_files, render_configuration
from nginx_ingress.settings import Listeners, Settings

from nginx_check import nginx_binary, nginx_modules

_handed_out: set[int] = set()
_handed_out_lock = threading.Lock()


def free_port() -> int:
    """A loopback port that was free just now and that no earlier call of this session returned.

    The probe socket is closed before the port is used, so the OS may offer the same
    port to the next probe: two listeners of one test would then collide. Each port
    is handed out once per session.
    """
    with _handed_out_lock:
        while True:
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                port = int(probe.getsockname()[1])
            if port not in _handed_out:
                _handed_out.add(port)
                return port


@dataclass(frozen=True)
class Sandbox:
    root: Path
    settings: Settings
    manager_settings: ManagerSettings

    @property
    def conf_dir(self) -> Path:
        return self.root / "conf"

    def tree(
        self, data: Mapping[str, str] | None = None, extra: Mapping[str, str] | None = None
    ) -> dict[str, str]:
        """The main tree for a ConfigMap, plus extra files (stand-ins for Ingress files)."""
        result = parse_configmap(data or {}, self.settings)
        assert not result.problems, result.problems
        configuration = build_configuration(
            result.config, self.settings, zone_sync_service_ready=True
        )
        return {**render_configuration(configuration), **(extra or {})}

    def version_file(self, version: int) -> tuple[str, str]:
        return config_version_files(self.settings.config_version_socket)(version)

    def manager(self, observer: ReloadObserver | None = None, **changes: object) -> NginxManager:
        settings = dataclasses.replace(self.manager_settings, **changes)  # type: ignore[arg-type]
        return NginxManager(settings, self.version_file, observer=observer)

    def get(
        self, path: str = "/", host: str = "localhost", timeout: float = 5.0
    ) -> tuple[int, str]:
        """A fresh connection to NGINX's HTTP port: (status, body)."""
        connection = http.client.HTTPConnection(
            "127.0.0.1", self.settings.listeners.http, timeout=timeout
        )
        try:
            connection.request("GET", path, headers={"Host": host})
            response = connection.getresponse()
            return response.status, response.read().decode()
        finally:
            connection.close()


def app_server(name: str, listen: int | str, body: str) -> str:
    """A stand-in for an Ingress file: one server for `name` answering `body`."""
    return (
        f"server {{\n    listen {listen};\n    server_name {name};\n"
        f'    location / {{\n        return 200 "{body}\\n";\n    }}\n}}\n'
    )


@contextmanager
def sandbox(**settings_changes: object) -> Iterator[Sandbox]:
    # A short root: the config-version unix socket path must stay under ~100 bytes.
    root = Path(tempfile.mkdtemp(prefix="ngx-", dir="/tmp"))
    try:
        (root / "run").mkdir()
        (root / "conf").mkdir()
        settings = Settings(
            conf_dir=PurePosixPath(root / "conf"),
            run_dir=PurePosixPath(root / "run"),
            load_modules=nginx_modules(),
            listeners=Listeners(
                http=free_port(),
                https=free_port(),
                nginx_status=free_port(),
                ready_status=free_port(),
                prometheus_metrics=free_port(),
            ),
            **settings_changes,  # type: ignore[arg-type]
        )
        manager_settings = ManagerSettings(
            conf_dir=root / "conf",
            run_dir=root / "run",
            version_socket=Path(settings.config_version_socket),
            binary=nginx_binary(),
            reload_timeout=10.0,
            stop_timeout=10.0,
        )
        yield Sandbox(root, settings, manager_settings)
    finally:
        shutil.rmtree(root, ignore_errors=True)
