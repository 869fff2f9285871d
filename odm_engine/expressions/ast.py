"""The syntax tree of OEL expressions, exactly as written (before names are resolved).

Nodes are frozen, slotted dataclasses. ``pos`` (the character offset in the source) is
carried for messages but is not part of a node's identity, so two parses of equivalent text
compare equal. Literal values stay text here; the type checker gives them meaning.
"""

from __future__ import annotations

from dataclasses import dataclass, field

LITERAL_TYPES = ("text", "integer", "number", "boolean", "date", "datetime", "time", "duration")
"""Types a literal can have; ``null`` literals have type ``null``."""


@dataclass(frozen=True, slots=True)
class Literal:
    type: str
    """One of LITERAL_TYPES or ``null``."""
    text: str
    """Canonical text of the value: ``12``, ``1.5``, ``abc``, ``true``, ``2019-03``, ``P6M``."""
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Ref:
    """An item reference: a bare OID (one part) or a bracketed path of up to four OIDs."""

    path: tuple[str, ...]
    pos: int = field(default=0, compare=False)

    @property
    def item_oid(self) -> str:
        return self.path[-1]


@dataclass(frozen=True, slots=True)
class Unary:
    op: str
    """``not`` or ``-``."""
    operand: Expr
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Binary:
    op: str
    """``or and = != < <= > >= + - * /``."""
    left: Expr
    right: Expr
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class InList:
    operand: Expr
    options: tuple[Expr, ...]
    negated: bool = False
    pos: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Call:
    name: str
    args: tuple[Expr, ...]
    pos: int = field(default=0, compare=False)


Expr = Literal | Ref | Unary | Binary | InList | Call


def walk(node: Expr) -> list[Expr]:
    """``node`` and every node below it, parents first."""
    out: list[Expr] = [node]
    i = 0
    while i < len(out):
        n = out[i]
        i += 1
        if isinstance(n, Unary):
            out.append(n.operand)
        elif isinstance(n, Binary):
            out.extend((n.left, n.right))
        elif isinstance(n, InList):
            out.append(n.operand)
            out.extend(n.options)
        elif isinstance(n, Call):
            out.extend(n.args)
    return out


def depth(node: Expr) -> int:
    """Operator levels of ``node``'s tree (a literal or reference is 0), without recursion."""
    deepest, todo = 0, [(node, 0)]
    while todo:
        n, d = todo.pop()
        deepest = max(deepest, d)
        if isinstance(n, Unary):
            todo.append((n.operand, d + 1))
        elif isinstance(n, Binary):
            todo += [(n.left, d + 1), (n.right, d + 1)]
        elif isinstance(n, InList):
            todo += [(x, d + 1) for x in (n.operand, *n.options)]
        elif isinstance(n, Call):
            todo += [(x, d + 1) for x in n.args]
    return deepest
