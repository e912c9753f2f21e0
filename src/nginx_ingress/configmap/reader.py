"""Reading keys of a ConfigMap with their parsers, for the rules that span several keys.

A value its parser refuses becomes a `Problem` (the key, the escaped value, what is used
instead) and the key's default is used: one bad key never stops the others.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TypeVar

from nginx_ingress.configmap.parsers import InvalidValue
from nginx_ingress.configmap.problems import Problem, show

T = TypeVar("T")


class ValueReader:
    def __init__(self, values: Mapping[str, str], problems: list[Problem]) -> None:
        self._values, self.problems = values, problems

    def field(self, key: str, parse: Callable[[str], T], default: T, used: str) -> T:
        """The key's value parsed; `default` when it is absent or refused (then `used` says
        what that default is, in the problem)."""
        if key not in self._values:
            return default
        try:
            return parse(self._values[key])
        except InvalidValue as error:
            self.problems.append(Problem(key, str(error), show(self._values[key]), used))
            return default

    def optional(
        self, key: str, parse: Callable[[str], T], used: str = "NGINX's default"
    ) -> T | None:
        return self.field(key, parse, None, used)
