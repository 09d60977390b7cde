"""A small reader of nginx configuration files: directives with their arguments and blocks.

Enough for the checks of tests/deploy (no includes, no variables expanded): comments,
quoted strings, `;` and `{ }`.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator

_TOKEN = re.compile(r"""#[^\n]*|"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)'|([{};])|([^\s{};"'#]+)""")


@dataclasses.dataclass
class Directive:
    name: str
    args: list[str]
    block: list[Directive] | None = None

    def all(self, name: str) -> list[Directive]:
        """The directives called `name` directly inside this block."""
        return [d for d in self.block or [] if d.name == name]

    def first(self, name: str) -> Directive | None:
        found = self.all(name)
        return found[0] if found else None

    def walk(self) -> Iterator[Directive]:
        """This directive and every directive nested in it."""
        yield self
        for child in self.block or []:
            yield from child.walk()


def _tokens(text: str) -> Iterator[str]:
    for match in _TOKEN.finditer(text):
        if match.group(0).startswith("#"):
            continue
        dq, sq, punct, word = match.groups()
        yield next(v for v in (dq, sq, punct, word) if v is not None)


def parse(text: str) -> Directive:
    """The file as the block of a root directive named `main`."""
    root = Directive("main", [], [])
    stack = [root]
    current: list[str] = []
    for token in _tokens(text):
        if token == ";":
            assert current, "empty directive"
            assert stack[-1].block is not None
            stack[-1].block.append(Directive(current[0], current[1:]))
            current = []
        elif token == "{":
            assert current, "block without a directive"
            block = Directive(current[0], current[1:], [])
            assert stack[-1].block is not None
            stack[-1].block.append(block)
            stack.append(block)
            current = []
        elif token == "}":
            assert not current and len(stack) > 1, "unbalanced }"
            stack.pop()
        else:
            current.append(token)
    assert not current and len(stack) == 1, "unterminated directive or block"
    return root


def seconds(value: str) -> float:
    """An nginx time ("5s", "5m", "330", "1h30m") in seconds."""
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "": 1}
    total = 0.0
    for number, unit in re.findall(r"(\d+)(ms|s|m|h|d|)", value):
        total += int(number) * units[unit]
    return total


def location_matches(location: Directive, path: str) -> bool:
    """Whether a request for `path` can be handled by this location (prefix or regex)."""
    args = location.args
    if args[0] == "=":
        return path == args[1]
    if args[0] in ("~", "~*"):
        return re.search(args[1], path, re.IGNORECASE if args[0] == "~*" else 0) is not None
    prefix = args[1] if args[0] == "^~" else args[0]
    return path.startswith(prefix)
