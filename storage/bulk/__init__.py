"""The bulk path for imports: the same rules and audit rows as ``save_form``, in batches.

Everything happens in the caller's ONE transaction: rows go out in batches, so a killed
import leaves nothing behind once the database rolls back. Values are checked as they arrive
(type, length, code list, form membership) and each subject's forms are run through the
check plan; after the first problem nothing more is written, validation goes on so the
report lists every problem, and :meth:`BulkWriter.finish` raises
:class:`~storage.errors.BulkRejectedError`: the caller rolls back.

The package, one job per module:

- :mod:`storage.bulk.values`: the checks of values, pure (no SQL): facts of each item key,
  the value check, what a value changes, the problems.
- :mod:`storage.bulk.writer`: :class:`BulkWriter`, which buffers the rows the values make.
- :mod:`storage.bulk.sinks`: how a batch reaches the database (a plain reference sink, SQLite
  multi-row INSERTs in a writer thread, PostgreSQL COPY), held equal by a property test.
- :mod:`storage.bulk.ids`: ids handed out in advance (SQLite ``max(id)``, PostgreSQL
  sequences), held equal to the database's own by a property test.
- :mod:`storage.bulk.tree`: the ids of what is stored for a subject already.
"""

from storage.bulk.sinks import BATCHES as _BATCHES
from storage.bulk.sinks import SOURCE_AUDIT_COLUMNS
from storage.bulk.values import BulkProblem, BulkResult
from storage.bulk.writer import BulkWriter

__all__ = ["SOURCE_AUDIT_COLUMNS", "_BATCHES", "BulkProblem", "BulkResult", "BulkWriter"]
