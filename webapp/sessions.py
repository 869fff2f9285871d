"""Sign-in, sessions and failed-login throttling, all kept in the database.

The browser's signed cookie (Flask's session, keyed with the shared secret) carries a random
token; ``web_sessions`` keeps its SHA-256 with the user, the sign-in time, the last activity
and the chosen language. A session ends on logout (row deleted), after
``session_idle_minutes`` without a request, or ``session_max_hours`` after sign-in. Failed
sign-ins are rows in ``login_failures``; after ``login_max_failures`` within
``login_window_minutes`` a user name cannot sign in until the window has passed.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, bindparam, delete, func, insert, select, update

from storage.models import LoginFailure, Role, RoleAssignment, Site, Study, User, WebSession
from storage.prepared import Prepared
from storage.users import RoleGrant, authenticate
from webapp.access import Viewer
from webapp.settings import Settings

TOUCH_EVERY = timedelta(seconds=60)
"""``last_seen_at`` is written at most this often, so reading a page rarely writes."""


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class SignIn:
    """The outcome of a sign-in attempt: a new session token, or why not."""

    token: str | None
    throttled: bool = False


def failures_since(conn: Connection, username: str, since: datetime) -> int:
    return int(
        conn.scalar(
            select(func.count(LoginFailure.id)).where(
                LoginFailure.username == username, LoginFailure.failed_at >= since
            )
        )
        or 0
    )


def sign_in(
    conn: Connection, settings: Settings, username: str, password: str, remote_addr: str
) -> SignIn:
    """Check the password (unless the name is throttled) and open a session row."""
    now = datetime.now(UTC)
    window = now - timedelta(minutes=settings.login_window_minutes)
    if failures_since(conn, username, window) >= settings.login_max_failures:
        return SignIn(None, throttled=True)
    user = authenticate(conn, username, password)
    if user is None:
        conn.execute(
            insert(LoginFailure).values(
                username=username[:100], remote_addr=remote_addr[:64], failed_at=now
            )
        )
        return SignIn(None)
    conn.execute(delete(LoginFailure).where(LoginFailure.username == username))
    conn.execute(delete(WebSession).where(WebSession.expires_at < now))
    token = secrets.token_urlsafe(32)
    conn.execute(
        insert(WebSession).values(
            token_sha256=token_hash(token),
            user_id=user.id,
            created_at=now,
            last_seen_at=now,
            expires_at=now + timedelta(hours=settings.session_max_hours),
        )
    )
    return SignIn(token)


def sign_out(conn: Connection, token: str) -> None:
    conn.execute(delete(WebSession).where(WebSession.token_sha256 == token_hash(token)))


@dataclass(frozen=True, slots=True)
class Lookup:
    viewer: Viewer | None
    expired: bool = False
    touch: bool = False
    """The session is live and its ``last_seen_at`` should be written (see TOUCH_EVERY)."""


_LOOK_UP = Prepared(
    select(
        WebSession.last_seen_at,
        WebSession.expires_at,
        WebSession.lang,
        User.id,
        User.username,
        User.full_name,
        User.active,
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


def look_up(conn: Connection, settings: Settings, token: str, study_oid: str | None) -> Lookup:
    """The signed-in user of ``token``, with their roles in ``study_oid``."""
    digest = token_hash(token)
    rows = _LOOK_UP.all(conn, {"digest": digest})
    if not rows:
        return Lookup(None)
    last_seen_at, expires_at, lang, user_id, username, full_name, active = rows[0][:7]
    now = datetime.now(UTC)
    idle = timedelta(minutes=settings.session_idle_minutes)
    if not active or now >= expires_at or now - last_seen_at >= idle:
        return Lookup(None, expired=True)
    viewer = Viewer(
        user_id=user_id,
        username=username,
        full_name=full_name,
        grants=tuple(
            RoleGrant(s, site, Role(r))
            for *_, s, site, r in rows
            if r is not None and (study_oid is None or s == study_oid)
        ),
        session_hash=digest,
        lang=lang,
    )
    return Lookup(viewer, touch=now - last_seen_at >= TOUCH_EVERY)


def touch(conn: Connection, session_hash: str) -> None:
    conn.execute(
        update(WebSession)
        .where(WebSession.token_sha256 == session_hash)
        .values(last_seen_at=datetime.now(UTC))
    )


def end_expired(conn: Connection, token: str) -> None:
    conn.execute(delete(WebSession).where(WebSession.token_sha256 == token_hash(token)))


def set_language(conn: Connection, session_hash: str, lang: str) -> None:
    conn.execute(
        update(WebSession).where(WebSession.token_sha256 == session_hash).values(lang=lang)
    )
