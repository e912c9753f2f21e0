"""Typed, immutable views of the Kubernetes objects routing reads.

Each view keeps only the fields the controller reads, and its `from_object` is the
informer's transform (client-go's TransformFunc): it runs once per object change,
on the reflector's thread, and never raises. A field of the wrong shape, which a
real API server would have refused but a hand-written manifest or an old cluster
may still hold, becomes a structural problem on the view instead of an exception.

Dropping everything else (managedFields, the last-applied annotation, status,
unrelated annotations) makes the cache several times smaller, and means that a
change nobody reads (our own status write, say) compares equal and starts no sync.
Imports nothing of ours.
"""

from nginx_ingress.resources.endpointslice import Endpoint, EndpointSlice, SlicePort
from nginx_ingress.resources.ingress import (
    BackendRef,
    Ingress,
    IngressClass,
    IngressPath,
    IngressRule,
    IngressTLS,
)
from nginx_ingress.resources.secret import CertificateSecret, Secret, TlsPair
from nginx_ingress.resources.service import Service, ServicePort

__all__ = [
    "BackendRef",
    "CertificateSecret",
    "Endpoint",
    "EndpointSlice",
    "Ingress",
    "IngressClass",
    "IngressPath",
    "IngressRule",
    "IngressTLS",
    "Secret",
    "Service",
    "ServicePort",
    "SlicePort",
    "TlsPair",
]
