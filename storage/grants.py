"""PostgreSQL grants for the application role: everything it needs, and no way to rewrite
the audit trail (no UPDATE, DELETE or TRUNCATE on ``audit_trail`` or ``access_log``).

Migrations run as the owner role; the web app and imports connect as the application role.
``docs/deployment-postgresql.md`` shows the statements; a test applies them and checks that
UPDATE and DELETE on the audit trail fail on privileges.
"""

from __future__ import annotations

import re

from storage.models import Base

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
APPEND_ONLY = ("audit_trail", "access_log", "source_audit")


def _ident(name: str) -> str:
    if not _IDENT.match(name):
        raise ValueError(f"{name!r} is not a plain SQL identifier (letters, digits, _)")
    return f'"{name}"'


def app_role_grants(role: str, *, schema: str = "public") -> list[str]:
    """GRANT statements for ``role`` on the tables of ``schema``."""
    r, s = _ident(role), _ident(schema)
    statements = [f"GRANT USAGE ON SCHEMA {s} TO {r}"]
    for table in sorted(Base.metadata.tables):
        privileges = "SELECT, INSERT" if table in APPEND_ONLY else "SELECT, INSERT, UPDATE, DELETE"
        statements.append(f"GRANT {privileges} ON {s}.{_ident(table)} TO {r}")
    statements.append(f"GRANT SELECT ON {s}.alembic_version TO {r}")
    statements.append(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {s} TO {r}")
    return statements
