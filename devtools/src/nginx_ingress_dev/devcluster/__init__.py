"""A local Kubernetes API server for development and tests (not a production component).

It serves the resources the controller uses with real HTTP and real Kubernetes
semantics, keeps everything in memory, and offers test hooks (seed, inspect,
compact, drop watches, inject faults, publish EndpointSlices). See docs/devcluster.md.

    with DevCluster() as cluster:
        cluster.write_kubeconfig("kubeconfig")
        ...
"""

from nginx_ingress_dev.devcluster.authn import UserInfo, read_token_file, service_account_user
from nginx_ingress_dev.devcluster.authz import RbacAuthorizer
from nginx_ingress_dev.devcluster.cluster import DevCluster
from nginx_ingress_dev.devcluster.errors import (
    AlreadyExists,
    ApiError,
    BadRequest,
    Conflict,
    Expired,
    Forbidden,
    Gone,
    InternalError,
    Invalid,
    MethodNotAllowed,
    NotAcceptable,
    NotFound,
    TooManyRequests,
    Unauthorized,
    UnsupportedMediaType,
)
from nginx_ingress_dev.devcluster.hooks import FaultRule, RequestRecord
from nginx_ingress_dev.devcluster.resources import RESOURCES, ResourceTable, ResourceType
from nginx_ingress_dev.devcluster.server import TlsConfig

__all__ = [
    "RESOURCES",
    "AlreadyExists",
    "ApiError",
    "BadRequest",
    "Conflict",
    "DevCluster",
    "Expired",
    "FaultRule",
    "Forbidden",
    "Gone",
    "InternalError",
    "Invalid",
    "MethodNotAllowed",
    "NotAcceptable",
    "NotFound",
    "RbacAuthorizer",
    "RequestRecord",
    "ResourceTable",
    "ResourceType",
    "TlsConfig",
    "TooManyRequests",
    "Unauthorized",
    "UnsupportedMediaType",
    "UserInfo",
    "read_token_file",
    "service_account_user",
]
