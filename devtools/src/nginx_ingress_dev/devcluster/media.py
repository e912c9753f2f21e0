"""Content types, as kube-apiserver negotiates them, for what this server can write.

Request bodies: `Content-Type` JSON (or no Content-Type) and YAML are read; anything
else, protobuf included, is `415 UnsupportedMediaType` naming what is accepted. Helm
and kubectl's generated clients send protobuf for built-in types; a 415 is what a
real server answers for a type it does not serve, so they fail with a clear message
instead of a JSON decoding error. PATCH has its own list (patch.py).

Responses: the `Accept` header is read like kube-apiserver reads it (its goautoneg
rules): clauses by quality, then specificity, and the first clause the server can
serve wins; parameters it does not know are ignored; `as=Table;g=meta.k8s.io;v=v1`
and `as=PartialObjectMetadata[List]` ask for a conversion, which only object
endpoints offer. No header means JSON. When no clause can be served the answer is
`406 NotAcceptable`, as the real server gives it: so `application/vnd.kubernetes.
protobuf, application/json` gets JSON, protobuf alone gets 406 here (the real server
would send protobuf, which this one does not produce).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from nginx_ingress_dev.devcluster.errors import NotAcceptable, UnsupportedMediaType

JSON = "application/json"
YAML = "application/yaml"
PROTOBUF = "application/vnd.kubernetes.protobuf"
META_GROUP = "meta.k8s.io"
_NOT_SERVED = f"({PROTOBUF} is not served by the development API server)"


class Output(enum.Enum):
    JSON = "json"
    YAML = "yaml"
    TABLE = "table"
    """meta.k8s.io/v1 Table: kubectl's server-side printing."""
    METADATA = "metadata"
    """meta.k8s.io/v1 PartialObjectMetadata(List): metadata-only clients."""


@dataclass(frozen=True)
class MediaRange:
    """One clause of an `Accept` header."""

    type: str
    subtype: str
    params: dict[str, str] = field(default_factory=dict)
    quality: float = 1.0

    @property
    def specificity(self) -> int:
        return (self.type != "*") + (self.subtype != "*")


def parse_accept(header: str) -> list[MediaRange]:
    """Clauses by descending quality, then specificity, in header order otherwise."""
    clauses: list[MediaRange] = []
    for part in header.split(","):
        pieces = [piece.strip() for piece in part.split(";")]
        media, _, subtype = pieces[0].partition("/")
        if not media:
            continue
        params: dict[str, str] = {}
        quality = 1.0
        for piece in pieces[1:]:
            key, _, value = piece.partition("=")
            key, value = key.strip().lower(), value.strip().strip('"')
            if key == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
            elif key:
                params[key] = value
        clauses.append(MediaRange(media.lower(), (subtype or "*").lower(), params, quality))
    return sorted(clauses, key=lambda c: (-c.quality, -c.specificity))


def _conversion(params: dict[str, str]) -> Output | bool | None:
    """The conversion a clause asks for: an Output, None (none asked), or False (one
    this server cannot do, so the clause is skipped)."""
    kind = params.get("as")
    if kind is None and "g" not in params and "v" not in params:
        return None
    if params.get("g") != META_GROUP or params.get("v") != "v1":
        return False
    if kind == "Table":
        return Output.TABLE
    if kind in ("PartialObjectMetadata", "PartialObjectMetadataList"):
        return Output.METADATA
    return False


def negotiate(header: str | None, *, conversions: bool = False, stream: bool = False) -> Output:
    """What to answer with. `conversions`: the endpoint serves objects (Table and
    PartialObjectMetadata are possible); `stream`: a watch (YAML has no stream form)."""
    if not header:
        return Output.JSON
    served = [("application", "json", Output.JSON)]
    if not stream:
        served.append(("application", "yaml", Output.YAML))
    for clause in parse_accept(header):
        for media, subtype, output in served:
            if clause.type not in (media, "*") or clause.subtype not in (subtype, "*"):
                continue
            if clause.type == "*" and clause.subtype != "*":
                continue
            stream_param = clause.params.get("stream")
            if stream_param and stream_param != "watch":
                continue
            conversion = _conversion(clause.params)
            if conversion is False or (conversion is not None and not conversions):
                continue
            if isinstance(conversion, Output) and output is Output.YAML:
                continue  # a Table as YAML: not worth having
            return conversion if isinstance(conversion, Output) else output
    accepted = f"{JSON};stream=watch" if stream else f"{JSON}, {YAML}"
    raise NotAcceptable(f"only the following media types are accepted: {accepted} {_NOT_SERVED}")


def request_format(content_type: str | None) -> str:
    """JSON or YAML for a request body's Content-Type (none means JSON); 415 otherwise."""
    media = (content_type or JSON).split(";")[0].strip().lower()
    if media in (JSON, YAML):
        return media
    raise UnsupportedMediaType(
        "the body of the request was in an unknown format - accepted media types include: "
        f"{JSON}, {YAML} {_NOT_SERVED}"
    )
