"""`nginx-plus-standin`: the console script. See docs/plus-standin.md."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from nginx_ingress_dev.plus_standin.engine import EngineError, find_engine
from nginx_ingress_dev.plus_standin.invocation import UsageError, parse_invocation
from nginx_ingress_dev.plus_standin.logline import ErrorOutput, early


def main(arguments: Sequence[str] | None = None) -> int:
    output = ErrorOutput()
    try:
        invocation = parse_invocation(sys.argv[1:] if arguments is None else arguments)
        engine = find_engine()
        if invocation.version:
            output.line(engine.version_text())
            return 0
        if invocation.test:
            from nginx_ingress_dev.plus_standin.check import check  # noqa: PLC0415

            return check(invocation, engine, output)
        from nginx_ingress_dev.plus_standin.master import Master  # noqa: PLC0415

        return Master(invocation, engine, output).run()
    except (UsageError, EngineError) as error:
        output.line(early("emerg", str(error)))
        return 2


def entry_point() -> None:
    sys.exit(main())
