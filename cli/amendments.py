"""Study amendments on the command line (issue 16): ``edc study diff``, ``impact``,
``versions``, ``publish`` and ``migrate``. Thin adapters like the rest of :mod:`cli`: click and
the standard library at the top, the engine, services and storage imported inside each
command so ``edc --help`` stays fast."""

from __future__ import annotations

import click  # noqa: F401  (commands below use it)

from cli.admin import study  # noqa: F401  (the group the commands join)

# --- diff: odm_engine.diff -------------------------------------------------------------

# --- impact: storage.impact ------------------------------------------------------------

# --- versions, publish, migrate: storage.versions --------------------------------------
