"""Server-side printing: `meta.k8s.io/v1` Tables, which `kubectl get` asks for
(`Accept: application/json;as=Table;v=v1;g=meta.k8s.io`) and prints as they come.

The columns and cell formats are kube-apiserver's for the kinds the controller works
with (its printers for Ingress, Service, EndpointSlice, Pod, Event, ConfigMap, Lease,
Namespace, Secret, IngressClass and the apps workloads); any other kind gets the
generic table, Name and Created At. The server always prints the wide form, priority-1
columns included: `kubectl get -o wide` shows them, plain `kubectl get` hides them.

A row carries the object as kubectl asks (`includeObject`): `Metadata` (the default,
a PartialObjectMetadata, which `-A` and `--show-labels` read), `Object` or `None`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from nginx_ingress_dev.devcluster.errors import BadRequest
from nginx_ingress_dev.devcluster.resources import ResourceType

Row = list[Any]
Obj = Mapping[str, Any]


@dataclass(frozen=True)
class Column:
    name: str
    type: str = "string"
    priority: int = 0
    format: str = ""
    description: str = ""

    def definition(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "format": self.format,
            "description": self.description,
            "priority": self.priority,
        }


NAME = Column("Name", format="name", description="Name of the object, unique in its namespace.")
AGE = Column("Age", description="Time since the object was created.")


# --- cell formats ------------------------------------------------------------------------


def human_duration(seconds: float) -> str:
    """kube-apiserver's age format: about two significant figures (`90s`, `5m3s`,
    `4h12m`, `3d5h`, `400d`, `3y20d`)."""
    whole = int(seconds)
    if whole < -1:
        return "<invalid>"
    if whole < 0:
        return "0s"
    if whole < 120:
        return f"{whole}s"
    minutes = whole // 60
    if minutes < 10:
        rest = whole % 60
        return f"{minutes}m{rest}s" if rest else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = whole // 3600
    if hours < 8:
        rest = minutes % 60
        return f"{hours}h{rest}m" if rest else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        rest = hours % 24
        return f"{hours // 24}d{rest}h" if rest else f"{hours // 24}d"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        days = (hours // 24) % 365
        return f"{hours // 24 // 365}y{days}d" if days else f"{hours // 24 // 365}y"
    return f"{hours // 24 // 365}y"


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def since(value: Any, now: datetime) -> str:
    """Age of an RFC 3339 timestamp, `<unknown>` when there is none."""
    moment = _parse_time(value)
    if moment is None:
        return "<unknown>"
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return human_duration((now - moment).total_seconds())


def _get(obj: Any, *path: str) -> Any:
    for step in path:
        if not isinstance(obj, Mapping):
            return None
        obj = obj.get(step)
    return obj


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _first_three(values: Sequence[str], total: int) -> str:
    """Up to three values, then ` + N more...`; `<unset>` for none (EndpointSlices)."""
    text = ",".join(values[:3])
    if total > 3:
        return f"{text} + {total - 3} more..."
    return text or "<unset>"


def _load_balancer(status: Any) -> str:
    found = {
        entry.get("ip") or entry.get("hostname")
        for entry in _list(_get(status, "loadBalancer", "ingress"))
        if isinstance(entry, Mapping) and (entry.get("ip") or entry.get("hostname"))
    }
    return ",".join(sorted(str(value) for value in found))


def _created(obj: Obj, now: datetime) -> str:
    return since(_get(obj, "metadata", "creationTimestamp"), now)


def _name(obj: Obj) -> str:
    return str(_get(obj, "metadata", "name") or "")


def _containers(obj: Obj, *path: str) -> tuple[str, str]:
    containers = [c for c in _list(_get(obj, *path)) if isinstance(c, Mapping)]
    names = ",".join(str(c.get("name", "")) for c in containers)
    images = ",".join(str(c.get("image", "")) for c in containers)
    return names, images


def _selector(selector: Any) -> str:
    """A label selector as kubectl writes it (`a=b,c in (d)`), `<none>` when empty."""
    if not isinstance(selector, Mapping):
        return "<none>"
    parts = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for expression in _list(selector.get("matchExpressions")):
        key, operator = expression.get("key"), expression.get("operator")
        values = ",".join(sorted(str(v) for v in expression.get("values") or []))
        if operator == "Exists":
            parts.append(str(key))
        elif operator == "DoesNotExist":
            parts.append(f"!{key}")
        else:
            parts.append(f"{key} {str(operator).lower()} ({values})")
    return ",".join(parts) or "<none>"


def _labels(labels: Any) -> str:
    if not isinstance(labels, Mapping) or not labels:
        return "<none>"
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))


# --- printers, one per kind -------------------------------------------------------------


def _ingress(obj: Obj, now: datetime) -> Row:
    rules = [r for r in _list(_get(obj, "spec", "rules")) if isinstance(r, Mapping)]
    hosts: list[str] = []
    more = False
    for rule in rules:
        if len(hosts) == 3:
            more = True
        if not more and rule.get("host"):
            hosts.append(str(rule["host"]))
    host_text = ",".join(hosts) or "*"
    if hosts and more:
        host_text += f" + {len(rules) - 3} more..."
    ports = "80, 443" if _list(_get(obj, "spec", "tls")) else "80"
    ingress_class = _get(obj, "spec", "ingressClassName") or "<none>"
    address = _load_balancer(obj.get("status"))
    return [_name(obj), ingress_class, host_text, address, ports, _created(obj, now)]


def _service_external_ip(spec: Any, status: Any) -> str:
    external = [str(ip) for ip in _list(_get(spec, "externalIPs"))]
    service_type = _get(spec, "type") or "ClusterIP"
    if service_type in ("ClusterIP", "NodePort"):
        return ",".join(external) or "<none>"
    if service_type == "LoadBalancer":
        balancer = _load_balancer(status)
        if external:
            return ",".join([*([balancer] if balancer else []), *external])
        return balancer or "<pending>"
    if service_type == "ExternalName":
        return str(_get(spec, "externalName") or "")
    return "<unknown>"


def _service(obj: Obj, now: datetime) -> Row:
    spec = obj.get("spec") or {}
    cluster_ips = _list(spec.get("clusterIPs"))
    cluster_ip = str(cluster_ips[0]) if cluster_ips else "<none>"
    ports = []
    for port in _list(spec.get("ports")):
        protocol = port.get("protocol", "TCP")
        node_port = port.get("nodePort")
        number = f"{port.get('port')}:{node_port}" if node_port else f"{port.get('port')}"
        ports.append(f"{number}/{protocol}")
    return [
        _name(obj),
        str(spec.get("type", "")),
        cluster_ip,
        _service_external_ip(spec, obj.get("status")),
        ",".join(ports) or "<none>",
        _created(obj, now),
        _labels(spec.get("selector")),
    ]


def _endpoint_slice(obj: Obj, now: datetime) -> Row:
    ports = [p for p in _list(obj.get("ports")) if isinstance(p, Mapping)]
    port_names = [
        str(p["port"]) if p.get("port") is not None else str(p.get("name") or "*")
        for p in ports[:3]
    ]
    addresses = [
        str(address)
        for endpoint in _list(obj.get("endpoints"))
        for address in _list(_get(endpoint, "addresses"))
    ]
    return [
        _name(obj),
        str(obj.get("addressType", "")),
        _first_three(port_names, len(ports)),
        _first_three(addresses, len(addresses)),
        _created(obj, now),
    ]


def _pod_status(obj: Obj) -> tuple[str, int, int, int]:
    """(status, ready containers, containers, restarts) as `kubectl get pods` shows
    them: the phase or reason, refined by the containers' states."""
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    total = len(_list(spec.get("containers")))
    reason = str(status.get("reason") or status.get("phase") or "")
    ready = restarts = 0
    running = False
    for container in reversed(_list(status.get("containerStatuses"))):
        restarts += int(container.get("restartCount") or 0)
        state = container.get("state") or {}
        waiting, terminated = state.get("waiting") or {}, state.get("terminated")
        if waiting.get("reason"):
            reason = str(waiting["reason"])
        elif terminated and terminated.get("reason"):
            reason = str(terminated["reason"])
        elif terminated:
            signal = terminated.get("signal")
            reason = f"Signal:{signal}" if signal else f"ExitCode:{terminated.get('exitCode', 0)}"
        elif container.get("ready") and "running" in state:
            running = True
            ready += 1
    if reason == "Completed" and running:
        conditions = _list(status.get("conditions"))
        ok = any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)
        reason = "Running" if ok else "NotReady"
    deleting = _get(obj, "metadata", "deletionTimestamp")
    if deleting and status.get("reason") == "NodeLost":
        reason = "Unknown"
    elif deleting and status.get("phase") not in ("Succeeded", "Failed"):
        reason = "Terminating"
    return reason, ready, total, restarts


def _pod(obj: Obj, now: datetime) -> Row:
    reason, ready, total, restarts = _pod_status(obj)
    status = obj.get("status") or {}
    pod_ips = _list(status.get("podIPs"))
    pod_ip = str(pod_ips[0].get("ip") or "") if pod_ips else ""
    gates = _list(_get(obj, "spec", "readinessGates"))
    gate_text = "<none>"
    if gates:
        conditions = {c.get("type"): c.get("status") for c in _list(status.get("conditions"))}
        passed = sum(conditions.get(g.get("conditionType")) == "True" for g in gates)
        gate_text = f"{passed}/{len(gates)}"
    return [
        _name(obj),
        f"{ready}/{total}",
        reason,
        str(restarts),
        _created(obj, now),
        pod_ip or "<none>",
        str(_get(obj, "spec", "nodeName") or "<none>"),
        str(status.get("nominatedNodeName") or "<none>"),
        gate_text,
    ]


def _event_source(obj: Obj) -> str:
    component = _get(obj, "source", "component") or obj.get("reportingController") or ""
    instance = _get(obj, "source", "host") or obj.get("reportingInstance") or ""
    return f"{component}, {instance}" if instance else str(component)


def _core_event(obj: Obj, now: datetime) -> Row:
    first = obj.get("firstTimestamp")
    first_seen = since(first, now) if first else since(obj.get("eventTime"), now)
    last = obj.get("lastTimestamp")
    last_seen = since(last, now) if last else first_seen
    count = obj.get("count") or 0
    series = obj.get("series")
    if isinstance(series, Mapping):
        last_seen = since(series.get("lastObservedTime"), now)
        count = series.get("count") or 0
    elif not count:
        count = 1
    involved = obj.get("involvedObject") or {}
    kind = str(involved.get("kind", "")).lower()
    target = f"{kind}/{involved['name']}" if involved.get("name") else kind
    return [
        last_seen,
        str(obj.get("type", "")),
        str(obj.get("reason", "")),
        target,
        str(involved.get("fieldPath", "")),
        _event_source(obj),
        str(obj.get("message", "")).strip(),
        first_seen,
        int(count),
        _name(obj),
    ]


def _events_v1_event(obj: Obj, now: datetime) -> Row:
    """events.k8s.io Events print through the core printer, fields renamed."""
    core = {
        "metadata": obj.get("metadata"),
        "firstTimestamp": obj.get("deprecatedFirstTimestamp"),
        "lastTimestamp": obj.get("deprecatedLastTimestamp"),
        "eventTime": obj.get("eventTime"),
        "count": obj.get("deprecatedCount"),
        "series": obj.get("series"),
        "involvedObject": obj.get("regarding") or {},
        "type": obj.get("type"),
        "reason": obj.get("reason"),
        "message": obj.get("note"),
        "source": obj.get("deprecatedSource"),
        "reportingController": obj.get("reportingController"),
        "reportingInstance": obj.get("reportingInstance"),
    }
    return _core_event(core, now)


def _configmap(obj: Obj, now: datetime) -> Row:
    count = len(obj.get("data") or {}) + len(obj.get("binaryData") or {})
    return [_name(obj), count, _created(obj, now)]


def _secret(obj: Obj, now: datetime) -> Row:
    return [_name(obj), str(obj.get("type", "")), len(obj.get("data") or {}), _created(obj, now)]


def _namespace(obj: Obj, now: datetime) -> Row:
    return [_name(obj), str(_get(obj, "status", "phase") or ""), _created(obj, now)]


def _lease(obj: Obj, now: datetime) -> Row:
    return [_name(obj), str(_get(obj, "spec", "holderIdentity") or ""), _created(obj, now)]


def _ingress_class(obj: Obj, now: datetime) -> Row:
    parameters = _get(obj, "spec", "parameters")
    text = "<none>"
    if isinstance(parameters, Mapping):
        group = f".{parameters['apiGroup']}" if parameters.get("apiGroup") else ""
        text = f"{parameters.get('kind', '')}{group}/{parameters.get('name', '')}"
    return [_name(obj), str(_get(obj, "spec", "controller") or ""), text, _created(obj, now)]


def _replicas(value: Any) -> int:
    return int(value) if isinstance(value, int) else 0


def _template(obj: Obj, now: datetime) -> Row:
    """The cells every workload ends with: Age, then its pod template's Containers and
    Images."""
    names, images = _containers(obj, "spec", "template", "spec", "containers")
    return [_created(obj, now), names, images]


def _template_selector(obj: Obj, now: datetime) -> Row:
    """`_template`'s cells and the workload's Selector."""
    return [*_template(obj, now), _selector(_get(obj, "spec", "selector"))]


def _deployment(obj: Obj, now: datetime) -> Row:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    desired = _replicas(spec.get("replicas", 1))
    return [
        _name(obj),
        f"{_replicas(status.get('readyReplicas'))}/{desired}",
        _replicas(status.get("updatedReplicas")),
        _replicas(status.get("availableReplicas")),
        *_template_selector(obj, now),
    ]


def _replica_set(obj: Obj, now: datetime) -> Row:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    return [
        _name(obj),
        _replicas(spec.get("replicas", 1)),
        _replicas(status.get("replicas")),
        _replicas(status.get("readyReplicas")),
        *_template_selector(obj, now),
    ]


def _daemon_set(obj: Obj, now: datetime) -> Row:
    status = obj.get("status") or {}
    return [
        _name(obj),
        _replicas(status.get("desiredNumberScheduled")),
        _replicas(status.get("currentNumberScheduled")),
        _replicas(status.get("numberReady")),
        _replicas(status.get("updatedNumberScheduled")),
        _replicas(status.get("numberAvailable")),
        _labels(_get(obj, "spec", "template", "spec", "nodeSelector")),
        *_template_selector(obj, now),
    ]


def _stateful_set(obj: Obj, now: datetime) -> Row:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    desired = _replicas(spec.get("replicas", 1))
    ready = f"{_replicas(status.get('readyReplicas'))}/{desired}"
    return [_name(obj), ready, *_template(obj, now)]


def _generic(obj: Obj, _now: datetime) -> Row:
    return [_name(obj), str(_get(obj, "metadata", "creationTimestamp") or "")]


@dataclass(frozen=True)
class Printer:
    columns: tuple[Column, ...]
    row: Callable[[Obj, datetime], Row]


def _col(name: str, description: str, kind: str = "string", priority: int = 0) -> Column:
    return Column(name, kind, priority, description=description)


_CONTAINERS = _col("Containers", "Names of the containers in the template.", priority=1)
_IMAGES = _col("Images", "Images of the containers in the template.", priority=1)
_SELECTOR = _col("Selector", "The label selector of the workload.", priority=1)
_TEMPLATE = (AGE, _CONTAINERS, _IMAGES)
"""The columns of `_template`'s cells."""
_TEMPLATE_SELECTOR = (*_TEMPLATE, _SELECTOR)
"""The columns of `_template_selector`'s cells."""

PRINTERS: dict[tuple[str, str], Printer] = {
    ("networking.k8s.io/v1", "Ingress"): Printer(
        (
            NAME,
            _col("Class", "The IngressClass of this Ingress."),
            _col("Hosts", "Hosts the rules match."),
            _col("Address", "Load-balancer addresses from the status."),
            _col("Ports", "80, and 443 when the Ingress has TLS."),
            AGE,
        ),
        _ingress,
    ),
    ("v1", "Service"): Printer(
        (
            NAME,
            _col("Type", "The Service type."),
            _col("Cluster-IP", "The first cluster IP."),
            _col("External-IP", "External or load-balancer addresses."),
            _col("Port(s)", "Ports with node ports and protocols."),
            AGE,
            _col("Selector", "The Pod selector.", priority=1),
        ),
        _service,
    ),
    ("discovery.k8s.io/v1", "EndpointSlice"): Printer(
        (
            NAME,
            _col("AddressType", "IPv4, IPv6 or FQDN."),
            _col("Ports", "The first ports."),
            _col("Endpoints", "The first endpoint addresses."),
            AGE,
        ),
        _endpoint_slice,
    ),
    ("v1", "Pod"): Printer(
        (
            NAME,
            _col("Ready", "Ready containers of all containers."),
            _col("Status", "The Pod phase or the reason its containers give."),
            _col("Restarts", "Container restarts."),
            AGE,
            _col("IP", "The Pod IP.", priority=1),
            _col("Node", "The node the Pod runs on.", priority=1),
            _col("Nominated Node", "The node nominated by preemption.", priority=1),
            _col("Readiness Gates", "Readiness gates that pass.", priority=1),
        ),
        _pod,
    ),
    ("v1", "ConfigMap"): Printer((NAME, _col("Data", "Number of keys."), AGE), _configmap),
    ("v1", "Secret"): Printer(
        (NAME, _col("Type", "The Secret type."), _col("Data", "Number of keys."), AGE), _secret
    ),
    ("v1", "Namespace"): Printer((NAME, _col("Status", "The Namespace phase."), AGE), _namespace),
    ("coordination.k8s.io/v1", "Lease"): Printer(
        (NAME, _col("Holder", "The identity holding the Lease."), AGE), _lease
    ),
    ("networking.k8s.io/v1", "IngressClass"): Printer(
        (
            NAME,
            _col("Controller", "The controller handling the class."),
            _col("Parameters", "The resource with parameters for the class."),
            AGE,
        ),
        _ingress_class,
    ),
    ("apps/v1", "Deployment"): Printer(
        (
            NAME,
            _col("Ready", "Ready of desired replicas."),
            _col("Up-to-date", "Replicas with the current template."),
            _col("Available", "Available replicas."),
            *_TEMPLATE_SELECTOR,
        ),
        _deployment,
    ),
    ("apps/v1", "ReplicaSet"): Printer(
        (
            NAME,
            _col("Desired", "Desired replicas.", "integer"),
            _col("Current", "Current replicas.", "integer"),
            _col("Ready", "Ready replicas.", "integer"),
            *_TEMPLATE_SELECTOR,
        ),
        _replica_set,
    ),
    ("apps/v1", "DaemonSet"): Printer(
        (
            NAME,
            _col("Desired", "Nodes that should run the Pod.", "integer"),
            _col("Current", "Nodes running the Pod.", "integer"),
            _col("Ready", "Nodes with a ready Pod.", "integer"),
            _col("Up-to-date", "Nodes with the current template.", "integer"),
            _col("Available", "Nodes with an available Pod.", "integer"),
            _col("Node Selector", "The template's node selector."),
            *_TEMPLATE_SELECTOR,
        ),
        _daemon_set,
    ),
    ("apps/v1", "StatefulSet"): Printer(
        (NAME, _col("Ready", "Ready of desired replicas."), *_TEMPLATE),
        _stateful_set,
    ),
}
_EVENT_COLUMNS = (
    _col("Last Seen", "When the event was last seen."),
    _col("Type", "Normal or Warning."),
    _col("Reason", "Why the event happened."),
    _col("Object", "The object the event is about."),
    _col("Subobject", "The part of the object.", priority=1),
    _col("Source", "The component that reported it.", priority=1),
    _col("Message", "What happened."),
    _col("First Seen", "When the event was first seen.", priority=1),
    _col("Count", "How often it happened.", priority=1),
    Column("Name", priority=1, format="name", description=NAME.description),
)
PRINTERS[("v1", "Event")] = Printer(_EVENT_COLUMNS, _core_event)
PRINTERS[("events.k8s.io/v1", "Event")] = Printer(_EVENT_COLUMNS, _events_v1_event)
GENERIC = Printer(
    (NAME, Column("Created At", "date", description="When the object was created.")), _generic
)


def printer_for(resource: ResourceType) -> Printer:
    return PRINTERS.get((resource.api_version, resource.kind), GENERIC)


# --- Table documents ---------------------------------------------------------------------

INCLUDE_OBJECT = ("Metadata", "Object", "None")


def include_object(value: str | None) -> str:
    """The `includeObject` query parameter (default Metadata); 400 for anything else."""
    if value in (None, ""):
        return "Metadata"
    if value not in INCLUDE_OBJECT:
        raise BadRequest(f"includeObject must be one of {', '.join(INCLUDE_OBJECT)}")
    return str(value)


def partial_metadata(obj: Obj) -> dict[str, Any]:
    return {
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": obj.get("metadata") or {},
    }


def table(
    resource: ResourceType,
    objects: Sequence[Obj],
    list_metadata: Mapping[str, Any],
    *,
    include: str = "Metadata",
    columns: bool = True,
    now: datetime | None = None,
) -> dict[str, Any]:
    """A Table of `objects`; `columns=False` leaves out the column definitions (watch
    events after the first)."""
    printer = printer_for(resource)
    moment = now or datetime.now(UTC)
    rows = []
    for obj in objects:
        row: dict[str, Any] = {"cells": printer.row(obj, moment)}
        if include == "Metadata":
            row["object"] = partial_metadata(obj)
        elif include == "Object":
            row["object"] = obj
        rows.append(row)
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": dict(list_metadata),
        "columnDefinitions": [c.definition() for c in printer.columns] if columns else [],
        "rows": rows,
    }
