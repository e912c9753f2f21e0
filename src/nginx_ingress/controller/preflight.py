"""Checks before the controller starts watching: what no retry at run time could fix.

The IngressClass named by `-ingress-class` must exist and name our controller
(`nginx.org/ingress-controller`), as in NIC: without it the controller would serve
nothing while looking healthy. An API server that cannot be reached yet is waited
for a while (a pod can start before its network is ready); one that answers with
the wrong class ends the start with a clear message.
"""

from __future__ import annotations

import logging
import threading

from nginx_ingress.generate.classes import class_problem
from nginx_ingress.kube.api import INGRESSCLASSES, Forbidden, KubeApi, KubeError, NotFound
from nginx_ingress.kube.reflector import Backoff
from nginx_ingress.resources import IngressClass

log = logging.getLogger("nginx_ingress.controller")


class PreflightError(RuntimeError):
    """The controller cannot start; the message says what to do."""


def check_ingress_class(
    api: KubeApi, name: str, *, patience: float = 30.0, stop: threading.Event | None = None
) -> IngressClass:
    """The IngressClass `name`, checked; raises `PreflightError` when it cannot be served."""
    backoff = Backoff(0.5, 5.0)
    waited = 0.0
    stop = stop or threading.Event()
    while True:
        try:
            found: IngressClass | None = IngressClass.from_object(api.get(INGRESSCLASSES, name))
        except NotFound:
            found = None
        except Forbidden as error:
            raise PreflightError(
                f"cannot read IngressClass {name!r}: {error}; the controller's ClusterRole "
                "needs get, list and watch on ingressclasses (see docs/controller.md)"
            ) from None
        except KubeError as error:
            if waited >= patience or stop.is_set():
                raise PreflightError(
                    f"cannot read IngressClass {name!r} after {waited:.0f}s: {error}"
                ) from None
            delay = backoff.next_delay()
            log.warning("cannot read IngressClass %r yet (%s); trying again", name, error)
            stop.wait(delay)
            waited += delay
            continue
        problem = class_problem(name, found)
        if problem is not None:
            raise PreflightError(problem)
        assert found is not None
        return found
