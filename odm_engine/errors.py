"""Faults: one base class for every exception the engine raises on purpose.

Metadata defects are findings and failed edit checks are check results; exceptions are for
faults the caller must handle. Each subclass also inherits the matching builtin so callers
that know only the builtin still catch it (as xmlschema does).
"""

from __future__ import annotations


class EdcError(Exception):
    """Base of every deliberate fault of the engine, the store, the renderers and the app."""


class MetadataError(EdcError, ValueError):
    """The metadata cannot serve the request (e.g. an unknown OID asked for by a caller)."""


class DataError(EdcError, ValueError):
    """Clinical data cannot be read or written as asked."""
