"""Which Ingresses are this controller's, by class.

NIC's rules: the legacy annotation `kubernetes.io/ingress.class` wins over
`spec.ingressClassName`; either must equal `-ingress-class`. Beyond NIC, an
Ingress with no class at all is ours when our IngressClass is marked as the
default (`ingressclass.kubernetes.io/is-default-class: "true"`): the API server's
admission fills in the class at creation, but Ingresses created before the class
became the default, or in a cluster without that admission plugin, keep none.
"""

from __future__ import annotations

from nginx_ingress.resources import Ingress, IngressClass

CONTROLLER_NAME = "nginx.org/ingress-controller"


def is_ours(ingress: Ingress, ingress_class: str, our_class: IngressClass | None) -> bool:
    annotation = ingress.class_annotation
    if annotation is not None:
        return annotation == ingress_class
    if ingress.class_name:
        return ingress.class_name == ingress_class
    return our_class is not None and our_class.is_default


def class_problem(ingress_class: str, found: IngressClass | None) -> str | None:
    """Why the controller cannot serve `ingress_class`, or None."""
    if found is None:
        return (
            f"IngressClass {ingress_class!r} does not exist; create it with "
            f"spec.controller: {CONTROLLER_NAME} (the Helm chart and deploy/ do)"
        )
    if found.controller != CONTROLLER_NAME:
        return (
            f"IngressClass {ingress_class!r} belongs to controller {found.controller!r}, "
            f"not {CONTROLLER_NAME}"
        )
    return None
