"""A stand-in for NGINX Plus in tests: a test double, never part of the product.

No NGINX Plus binary can be installed on the development machines or in CI, so
`nginx-plus-standin` plays one for the controller's `-nginx-binary`: it answers
`-V` as NGINX Plus, checks a Plus configuration with crossplane's analyzer, runs the
real OSS `nginx` on a copy without the Plus-only parts (the shadow tree), and serves
the Plus API stub where the configuration puts the API, seeded with its upstreams.
What it does and does not model: docs/plus-standin.md.

Tests reach the stub inside a running stand-in through `StandinControl`.
"""

from __future__ import annotations

from nginx_ingress_dev.plus_standin.control import (
    ControlError,
    StandinControl,
    control_socket,
    state_directory,
)

__all__ = ["ControlError", "StandinControl", "control_socket", "state_directory"]
