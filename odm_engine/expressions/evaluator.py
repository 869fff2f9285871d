"""Turn a typed tree into a Python closure and run it against one subject's data.

No ``eval``/``exec``: each node becomes a small function calling its children. Null (None)
propagates through arithmetic, comparisons and functions; ``and``/``or``/``not`` follow
Kleene's three-valued logic.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import date
from decimal import Decimal, DivisionByZero, InvalidOperation

from odm_engine.clinical import FormKey, GroupKey, ItemKey
from odm_engine.expressions import values
from odm_engine.expressions.functions import SCALAR
from odm_engine.expressions.resolver import Placement
from odm_engine.expressions.typed import TNode

Fn = Callable[["Env"], object]


class DataIndex:
    """One subject's values arranged for lookups by group row, plus typed-value caching."""

    def __init__(self, raw: Mapping[ItemKey, str], data_types: Mapping[str, str]) -> None:
        self.data_types = data_types
        self.rows: dict[GroupKey, dict[str, str]] = {}
        self.by_def: dict[tuple[str, str], list[GroupKey]] = {}
        seen: dict[tuple[str, str, str, str, str, str], dict[str, str]] = {}
        for key, text in raw.items():
            where = key[:6]  # event, its repeat key, form, its repeat key, group, its repeat key
            row = seen.get(where)
            if row is None:
                group = GroupKey(*where)
                row = seen[where] = self.rows[group] = {}
                self.by_def.setdefault((key.form_oid, key.item_group_oid), []).append(group)
            row[key.item_oid] = text
        for keys in self.by_def.values():
            keys.sort()
        self._typed: dict[tuple[GroupKey, str], object] = {}

    def set(self, key: ItemKey, text: str | None) -> None:
        """Overlay a derived value or a cleared (hidden) one."""
        group = key.group_key
        row = self.rows.get(group)
        if row is None:
            if text is None:
                return
            row = self.rows[group] = {}
            groups = self.by_def.setdefault((key.form_oid, key.item_group_oid), [])
            groups.append(group)
            groups.sort()
        if text is None:
            row.pop(key.item_oid, None)
        else:
            row[key.item_oid] = text
        self._typed.pop((group, key.item_oid), None)

    def text(self, group: GroupKey, item_oid: str) -> str | None:
        row = self.rows.get(group)
        return row.get(item_oid) if row is not None else None

    def value(self, group: GroupKey, item_oid: str) -> object:
        cache_key = (group, item_oid)
        try:
            return self._typed[cache_key]
        except KeyError:
            pass
        text = self.text(group, item_oid)
        typed = None
        if text is not None:
            typed = values.read_item(self.data_types.get(item_oid, "text"), text, None, None)[0]
        self._typed[cache_key] = typed
        return typed

    def groups(self, p: Placement, env: Env) -> list[GroupKey]:
        """The rows ``p`` reads from, as seen from ``env``."""
        found = self.by_def.get((p.form_oid, p.item_group_oid), [])
        if p.level == "study":
            if p.study_event_oid is None:
                return found
            return [g for g in found if g.study_event_oid == p.study_event_oid]
        event, event_key = env.event
        if p.level == "event":
            return [
                g
                for g in found
                if g.study_event_oid == event and g.study_event_repeat_key == event_key
            ]
        form = env.form
        if form is None:
            return []
        return [g for g in found if g.form_key == form]


class Env:
    """Where an expression is evaluated: the data and the current event, form and row."""

    __slots__ = ("_today", "data", "event", "form", "group", "rows")

    def __init__(
        self,
        data: DataIndex,
        *,
        event: tuple[str, str] = ("", ""),
        form: FormKey | None = None,
        group: GroupKey | None = None,
        today: date | None = None,
    ) -> None:
        self.data = data
        self.event = event
        self.form = form
        self.group = group
        self._today = today
        self.rows: dict[tuple[str | None, str, str, str], GroupKey] = {}

    @property
    def today(self) -> date:
        """The evaluation day: the one given, else today's date, looked up on first use
        (``date.today()`` imports the time module on every call, and most evaluations never
        ask)."""
        if self._today is None:
            self._today = date.today()
        return self._today


def _kleene_and(a: object, b: object) -> object:
    if a is False or b is False:
        return False
    if a is None or b is None:
        return None
    return True


def _kleene_or(a: object, b: object) -> object:
    if a is True or b is True:
        return True
    if a is None or b is None:
        return None
    return False


_COMPARE: dict[str, Callable[[int], bool]] = {
    "=": lambda c: c == 0,
    "!=": lambda c: c != 0,
    "<": lambda c: c < 0,
    "<=": lambda c: c <= 0,
    ">": lambda c: c > 0,
    ">=": lambda c: c >= 0,
}


def _arith(op: str, a: object, b: object) -> object:
    if a is None or b is None:
        return None
    if isinstance(b, values.Duration):
        return values.add_duration(a, b, -1 if op == "-" else 1)
    if isinstance(a, values.Duration):
        return values.add_duration(b, a, 1)
    if isinstance(a, str) and isinstance(b, str):
        return a + b
    if not isinstance(a, int | Decimal) or not isinstance(b, int | Decimal):
        return None
    try:
        if op == "+":
            return a + b
        if op == "-":
            return a - b
        if op == "*":
            return a * b
        return Decimal(a) / Decimal(b) if b != 0 else None
    except (InvalidOperation, DivisionByZero, OverflowError):
        return None


def _reader(p: Placement) -> Fn:
    item, source = p.item_oid, p.source
    if p.level == "row":

        def read_row(env: Env) -> object:
            group = env.group
            return env.data.value(group, item) if group is not None else None

        return read_row

    def read(env: Env) -> object:
        group = env.rows.get(source)
        if group is None:
            groups = env.data.groups(p, env)
            if not groups:
                return None
            group = groups[0]
        return env.data.value(group, item)

    return read


def _aggregate(node: TNode, inner: Fn) -> Fn:
    assert node.ref is not None
    p, name = node.ref, node.op
    source = p.source

    def per_row(env: Env) -> list[object]:
        saved = env.rows.get(source)
        out = []
        for group in env.data.groups(p, env):
            env.rows[source] = group
            out.append(inner(env))
        if saved is None:
            env.rows.pop(source, None)
        else:
            env.rows[source] = saved
        return out

    def run(env: Env) -> object:
        results = per_row(env)
        if name == "any":
            return True if True in results else (None if None in results else False)
        if name == "all":
            return False if False in results else (None if None in results else True)
        present = [r for r in results if r is not None]
        if name == "count":
            return len(present)
        if name == "sum":
            total: object = 0
            for r in present:
                total = _arith("+", total, r)
            return total
        return SCALAR[name](*present) if present else None

    return run


def compile_node(node: TNode) -> Fn:
    """A function of an :class:`Env` that computes ``node``."""
    op = node.op
    if op == "lit":
        value = node.value
        return lambda env: value
    if op == "ref":
        assert node.ref is not None
        return _reader(node.ref)
    args = [compile_node(a) for a in node.args]
    if op in ("count", "any", "all", "sum", "min", "max") and node.ref is not None:
        return _aggregate(node, args[0])
    if op in ("and", "or"):
        left, right = args
        combine = _kleene_and if op == "and" else _kleene_or
        stop = op == "or"

        def logic(env: Env) -> object:
            a = left(env)
            if a is stop:
                return stop
            return combine(a, right(env))

        return logic
    if op == "not":
        (inner,) = args
        return lambda env: None if (v := inner(env)) is None else not v
    if op == "neg":
        (inner,) = args
        return lambda env: None if (v := inner(env)) is None else -v  # type: ignore[operator]
    if op in _COMPARE:
        left, right = args
        test = _COMPARE[op]

        def comparison(env: Env) -> object:
            order = values.compare(left(env), right(env))
            return None if order is None else test(order)

        return comparison
    if op in ("in", "notin"):
        return _membership(args, negated=op == "notin")
    if op in ("+", "-", "*", "/"):
        left, right = args
        return lambda env: _arith(op, left(env), right(env))
    return _special(op, args)


def _membership(args: list[Fn], *, negated: bool) -> Fn:
    operand, options = args[0], args[1:]

    def member(env: Env) -> object:
        value = operand(env)
        if value is None:
            return None
        unknown = False
        for option in options:
            order = values.compare(value, option(env))
            if order == 0:
                return not negated
            unknown = unknown or order is None
        return None if unknown else negated

    return member


def _special(op: str, args: list[Fn]) -> Fn:
    if op == "today":
        return lambda env: env.today
    if op == "is_missing":
        (inner,) = args
        return lambda env: inner(env) is None
    if op == "is_present":
        (inner,) = args
        return lambda env: inner(env) is not None
    if op == "definitely":
        (inner,) = args
        return lambda env: inner(env) is True
    if op == "possibly":
        (inner,) = args
        return lambda env: inner(env) is not False
    if op == "coalesce":
        return lambda env: next((v for v in _each(args, env) if v is not None), None)
    if op == "join":
        return _join(args)
    if op == "if":
        cond, then, other = args

        def choose(env: Env) -> object:
            test = cond(env)
            if test is None:
                return None
            return then(env) if test else other(env)

        return choose
    function = SCALAR[op]

    def call(env: Env) -> object:
        evaluated = [a(env) for a in args]
        if any(v is None for v in evaluated):
            return None
        return function(*evaluated)

    return call


def _join(args: list[Fn]) -> Fn:
    """join(separator, a, b, ...): the texts among a, b, ... that are not null, joined by the
    separator; null when all are null (or the separator is)."""
    separator, *parts = args

    def joined(env: Env) -> object:
        sep = separator(env)
        texts = [v for v in _each(parts, env) if v is not None]
        if not isinstance(sep, str) or not texts:
            return None
        return sep.join(str(v) for v in texts)

    return joined


def _each(args: Iterable[Fn], env: Env) -> Iterable[object]:
    for a in args:
        yield a(env)
