"""Web sessions in the database: one ``web_sessions`` row per signed-in browser.

The row keeps the SHA-256 of the cookie's random token (never the token), the user, the
sign-in time, the last activity, the end and the chosen language. The web app decides when
a session has ended (:mod:`webapp.sessions`); these functions only read and write the rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, bindparam, delete, insert, select, update

from storage.models import RoleAssignment, Site, Study, User, WebSession
from storage.prepared import Prepared
from storage.users import RoleGrant
from storage.vocabulary import Role

__all__ = [
    "SessionRecord",
    "delete_expired_sessions",
    "delete_session",
    "open_session",
    "session_record",
    "set_session_language",
    "touch_session",
]


def open_session(
    conn: Connection, digest: str, user_id: int, now: datetime, expires_at: datetime
) -> None:
    """A new session row for ``user_id`` (``digest``: the SHA-256 of its token)."""
    conn.execute(
        insert(WebSession).values(
            token_sha256=digest,
            user_id=user_id,
            created_at=now,
            last_seen_at=now,
            expires_at=expires_at,
        )
    )


def delete_expired_sessions(conn: Connection, now: datetime) -> None:
    conn.execute(delete(WebSession).where(WebSession.expires_at < now))


def delete_session(conn: Connection, digest: str) -> None:
    conn.execute(delete(WebSession).where(WebSession.token_sha256 == digest))


def touch_session(conn: Connection, digest: str, now: datetime) -> None:
    conn.execute(
        update(WebSession).where(WebSession.token_sha256 == digest).values(last_seen_at=now)
    )


def set_session_language(conn: Connection, digest: str, lang: str) -> None:
    conn.execute(update(WebSession).where(WebSession.token_sha256 == digest).values(lang=lang))


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """A session row with its user and the user's role grants (of every study)."""

    last_seen_at: datetime
    expires_at: datetime
    lang: str | None
    user_id: int
    username: str
    full_name: str
    active: bool
    must_change_password: bool
    grants: tuple[RoleGrant, ...]


_LOOK_UP = Prepared(
    select(
        WebSession.last_seen_at,
        WebSession.expires_at,
        WebSession.lang,
        User.id,
        User.username,
        User.full_name,
        User.active,
        User.must_change_password,
        Study.oid,
        Site.oid,
        RoleAssignment.role,
    )
    .join(User, User.id == WebSession.user_id)
    .outerjoin(RoleAssignment, RoleAssignment.user_id == User.id)
    .outerjoin(Study, Study.id == RoleAssignment.study_id)
    .outerjoin(Site, Site.id == RoleAssignment.site_id)
    .where(WebSession.token_sha256 == bindparam("digest"))
    .order_by(Study.oid, Site.oid, RoleAssignment.role)
)
"""The session, its user and the user's roles: one statement, built once (run per request)."""


def session_record(conn: Connection, digest: str) -> SessionRecord | None:
    """The session of token hash ``digest``, or None when there is no such row."""
    rows = _LOOK_UP.all(conn, {"digest": digest})
    if not rows:
        return None
    last_seen_at, expires_at, lang, user_id, username, full_name, active, must_change = rows[0][:8]
    return SessionRecord(
        last_seen_at=last_seen_at,
        expires_at=expires_at,
        lang=lang,
        user_id=user_id,
        username=username,
        full_name=full_name,
        active=bool(active),
        must_change_password=bool(must_change),
        grants=tuple(RoleGrant(s, site, Role(r)) for *_, s, site, r in rows if r is not None),
    )
