"""Statements of the request path, compiled once per database dialect and run on the driver.

A form save or a page view runs about ten fixed statements. Through SQLAlchemy's
``Connection.execute`` each costs far more in Python (execution context, events, result
metadata, parameter processing) than the database takes to run it. :class:`Prepared`
compiles a Core statement once per dialect and then runs it on the DB-API cursor of the
caller's connection, inside the caller's transaction, applying the same bind and result
processors SQLAlchemy would (so a timestamp goes in and comes out exactly as through
``Connection.execute``: naive UTC text on SQLite, ``timestamptz`` on PostgreSQL).

:class:`Reference` is the plain version with the same methods, each one ``Connection.execute``
call; ``tests/storage/test_prepared.py`` holds the two equal on generated rows, on SQLite and
PostgreSQL. Bench figure (issue 15, the ``bench web`` study served in-process, every
``Prepared`` of storage and webapp swapped for a :class:`Reference`): a 20-item form save
took 1.54 ms of CPU against 2.43 ms (+57% without it), a form page 1.52 ms against 1.76 ms
(+16%); a served-study lookup runs in 6 us against 24 us, a 20-row UPDATE in 42 us against
134 us (docs/architecture.md, speed tricks).

What it does not do: Python-side column defaults (name every column an INSERT needs),
expanding ``IN`` parameters, and statement events (``before_cursor_execute`` does not see
these statements). Use it for fixed, hot statements only; everything else stays on
``Connection.execute``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import Executable
from sqlalchemy.sql.elements import ClauseElement

Processor = Callable[[Any], Any]


@dataclass(frozen=True, slots=True)
class _Compiled:
    sql: str
    names: tuple[str, ...]
    """Parameter names in the order the driver takes them (positional dialects)."""
    positional: bool
    defaults: tuple[tuple[str, Any], ...]
    """(name, value) of parameters the statement fixes itself (literals in it)."""
    binds: tuple[tuple[str, Processor], ...]
    """(name, processor) of parameters whose values need converting for the driver."""
    results: tuple[tuple[int, Processor], ...]
    """(column index, processor) of result columns whose values need converting back."""
    pick: Callable[[Any], tuple[Any, ...]] | None
    """Positional dialects whose parameters the caller gives all: the driver's tuple of a
    row's values in one C call (``operator.itemgetter``)."""
    slots: tuple[tuple[str, Any, Processor | None], ...]
    """Positional dialects: (name, fixed value or _GIVEN, processor) per driver parameter."""
    converted: tuple[tuple[int, str, Processor], ...]
    """Positional dialects: (position, name, processor) of the parameters to convert."""
    orders: dict[tuple[str, ...], Callable[[Sequence[Any]], tuple[Any, ...]]]
    """Positional dialects: for the column order of a caller's tuples, the function giving
    the driver's order (see :meth:`Prepared.executemany_rows`)."""


_GIVEN = object()
"""A parameter the caller gives (not fixed by the statement)."""


def _convert(
    process: Processor, name: str, raw: Any, memo: dict[tuple[str, type, Any], Any] | None
) -> Any:
    if memo is None:
        return process(raw)
    key = (name, type(raw), raw)
    try:
        return memo[key]
    except KeyError:
        memo[key] = converted = process(raw)
        return converted
    except TypeError:  # not hashable: convert it every time
        return process(raw)


def _picker(names: tuple[Any, ...]) -> Callable[[Any], tuple[Any, ...]]:
    """``values`` -> the tuple of ``values[n]`` for each of ``names``, in one C call."""
    get = itemgetter(*names)
    if len(names) == 1:
        return lambda values: (get(values),)
    return get


class Prepared:
    """One statement, compiled on first use for each dialect it meets."""

    __slots__ = ("_by_dialect", "statement")

    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        self._by_dialect: dict[str, _Compiled] = {}

    def _compiled(self, dialect: Dialect) -> _Compiled:
        found = self._by_dialect.get(dialect.name)
        if found is None:
            found = self._by_dialect[dialect.name] = _compile(self.statement, dialect)
        return found

    @staticmethod
    def _params(
        c: _Compiled,
        values: Mapping[str, Any],
        memo: dict[tuple[str, type, Any], Any] | None = None,
    ) -> Any:
        """The driver's parameters for ``values``. ``memo`` (one executemany) converts a value
        repeated across rows once: every audit row of a save shares its timestamp."""
        if c.pick is not None:
            if not c.converted:
                return c.pick(values)
            out = list(c.pick(values))
            for i, name, process in c.converted:
                out[i] = _convert(process, name, out[i], memo)
            return tuple(out)
        if c.positional:
            out = []
            for name, fixed, process in c.slots:
                raw = values[name] if fixed is _GIVEN else values.get(name, fixed)
                out.append(raw if process is None else _convert(process, name, raw, memo))
            return tuple(out)
        if c.defaults:
            values = {**dict(c.defaults), **values}
        if c.binds:
            values = dict(values)
            for name, process in c.binds:
                values[name] = _convert(process, name, values[name], memo)
        return values or None

    def execute(self, conn: Connection, values: Mapping[str, Any] | None = None) -> Any:
        """Run the statement once; the DB-API cursor (``rowcount`` for writes)."""
        c = self._compiled(conn.dialect)
        cursor = _cursor(conn)
        params = self._params(c, values or {})
        cursor.execute(c.sql, params) if params is not None else cursor.execute(c.sql)
        return cursor

    def executemany(self, conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        if not rows:
            return
        c = self._compiled(conn.dialect)
        cursor = _cursor(conn)
        memo: dict[tuple[str, type, Any], Any] = {}
        cursor.executemany(c.sql, [self._params(c, r, memo) for r in rows])
        cursor.close()

    def executemany_rows(
        self, conn: Connection, columns: tuple[str, ...], rows: Sequence[Sequence[Any]]
    ) -> None:
        """As :meth:`executemany`, each row a tuple of the values of ``columns`` (every
        parameter the statement takes): on positional drivers the tuples are reordered in C
        and only the columns that need converting are touched."""
        if not rows:
            return
        c = self._compiled(conn.dialect)
        if c.pick is None:
            self.executemany(conn, [dict(zip(columns, r, strict=True)) for r in rows])
            return
        order = c.orders.get(columns)
        if order is None:
            where = {name: i for i, name in enumerate(columns)}
            order = c.orders[columns] = _picker(tuple(where[n] for n in c.names))  # type: ignore[arg-type]
        memo: dict[tuple[str, type, Any], Any] = {}
        params = []
        for r in rows:
            out = order(r)  # type: ignore[arg-type]
            if c.converted:
                out = list(out)
                for i, name, process in c.converted:
                    out[i] = _convert(process, name, out[i], memo)
            params.append(out)
        cursor = _cursor(conn)
        cursor.executemany(c.sql, params)
        cursor.close()

    def all(
        self, conn: Connection, values: Mapping[str, Any] | None = None
    ) -> list[tuple[Any, ...]]:
        """Every row, as tuples in the statement's column order."""
        c = self._compiled(conn.dialect)
        cursor = self.execute(conn, values)
        rows = cursor.fetchall()
        cursor.close()
        if not c.results:
            return [tuple(r) for r in rows]
        out = []
        for r in rows:
            row = list(r)
            for i, process in c.results:
                row[i] = process(row[i])
            out.append(tuple(row))
        return out

    def first(
        self, conn: Connection, values: Mapping[str, Any] | None = None
    ) -> tuple[Any, ...] | None:
        rows = self.all(conn, values)
        return rows[0] if rows else None


def _cursor(conn: Connection) -> Any:
    """A driver cursor of ``conn``'s connection, in its current transaction (begun if none:
    the statement belongs to the caller's transaction exactly as ``conn.execute``'s would)."""
    if not conn.in_transaction():
        conn.begin()
    return conn.connection.driver_connection.cursor()  # type: ignore[union-attr]


def _compile(statement: Executable, dialect: Dialect) -> _Compiled:
    assert isinstance(statement, ClauseElement)
    compiled = statement.compile(dialect=dialect)
    names = tuple(compiled.positiontup or ()) if dialect.positional else ()
    binds, defaults = [], []
    for param, name in compiled.bind_names.items():
        if not param.required:
            defaults.append((name, param.effective_value))
        process = param.type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:
            binds.append((name, process))
    results = []
    for i, column in enumerate(_selected(statement)):
        process = column.type.dialect_impl(dialect).result_processor(dialect, None)
        if process is not None:
            results.append((i, process))
    fixed, processors = dict(defaults), dict(binds)
    slots = tuple((n, fixed.get(n, _GIVEN), processors.get(n)) for n in names)
    all_given = bool(names) and not any(n in fixed for n in names)
    return _Compiled(
        compiled.string,
        names,
        dialect.positional,
        tuple(defaults),
        tuple(binds),
        tuple(results),
        _picker(names) if all_given else None,
        slots,
        tuple((i, n, processors[n]) for i, n in enumerate(names) if n in processors),
        {},
    )


def _selected(statement: Executable) -> Iterable[Any]:
    columns = getattr(statement, "selected_columns", None)
    return columns if columns is not None else ()


class Reference:
    """What :class:`Prepared` does, written plainly: each call one ``Connection.execute``.

    The reference the fast path is tested against; ``execute`` returns SQLAlchemy's result
    (``rowcount`` as the driver cursor's)."""

    __slots__ = ("statement",)

    def __init__(self, statement: Executable) -> None:
        self.statement = statement

    def execute(self, conn: Connection, values: Mapping[str, Any] | None = None) -> Any:
        return conn.execute(self.statement, dict(values or {}))

    def executemany(self, conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        if rows:
            conn.execute(self.statement, [dict(r) for r in rows])

    def executemany_rows(
        self, conn: Connection, columns: tuple[str, ...], rows: Sequence[Sequence[Any]]
    ) -> None:
        self.executemany(conn, [dict(zip(columns, r, strict=True)) for r in rows])

    def all(
        self, conn: Connection, values: Mapping[str, Any] | None = None
    ) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in conn.execute(self.statement, dict(values or {}))]

    def first(
        self, conn: Connection, values: Mapping[str, Any] | None = None
    ) -> tuple[Any, ...] | None:
        rows = self.all(conn, values)
        return rows[0] if rows else None
