"""The web app's one cache shape: a bounded table of values made from database content.

Several things the web app serves are pure functions of a metadata version and a few names:
the parsed study (:mod:`webapp.studyview`), a form's item types (:mod:`webapp.entry_form`),
a form page's history links (:mod:`webapp.views.entry`). Each is made once and kept in a
:class:`Memo`. The rules that keep such a cache honest are the same everywhere, so they live
here once:

- the key is everything the value is made from: the metadata version's SHA-256 (never only
  a study or form OID, which a new version keeps) and every other argument;
- the table is bounded: beyond ``bound`` entries the oldest goes first;
- values are never changed once made (frozen objects, read-only mappings);
- :meth:`Memo.clear` empties it.

Workers are processes with threads at most: a lock guards every change; two threads that
miss at once both make the value and the second one kept wins (either is right).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Memo(Generic[K, V]):
    """A bounded table ``key -> value``, each value made by the caller on the first miss."""

    __slots__ = ("_lock", "_table", "bound", "name")

    def __init__(self, name: str, bound: int) -> None:
        if bound < 1:
            raise ValueError(f"Memo {name}: bound must be at least 1, not {bound}.")
        self.name = name
        self.bound = bound
        self._table: dict[K, V] = {}
        self._lock = threading.Lock()

    def get(self, key: K, make: Callable[[], V]) -> V:
        """The value kept for ``key``, else ``make()`` (kept for next time)."""
        try:
            return self._table[key]
        except KeyError:
            pass
        value = make()
        with self._lock:
            self._table[key] = value
            while len(self._table) > self.bound:
                del self._table[next(iter(self._table))]
        return value

    def peek(self, key: K) -> V | None:
        """The value kept for ``key``, or None (nothing is made)."""
        return self._table.get(key)

    def clear(self) -> None:
        with self._lock:
            self._table.clear()

    def values(self) -> list[V]:
        """The values kept, oldest first."""
        return list(self._table.values())

    def __len__(self) -> int:
        return len(self._table)

    def __contains__(self, key: object) -> bool:
        return key in self._table

    def __repr__(self) -> str:
        return f"Memo({self.name!r}, {len(self)}/{self.bound})"
