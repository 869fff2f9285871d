"""Sign-in, sessions and failed-login throttling, all kept in the database.

The browser's signed cookie (Flask's session, keyed with the shared secret) carries a random
token; ``web_sessions`` keeps its SHA-256 with the user, the sign-in time, the last activity
and the chosen language. A session ends on logout (row deleted), after
``session_idle_minutes`` without a request, or ``session_max_hours`` after sign-in. The
password is checked by :func:`storage.logins.check_password`: failures are counted per user
name and client address (``login_max_failures``), per user name (``login_max_failures_user``)
and per address (``login_max_failures_client``) within ``login_window_minutes``, shared with
the e-signature's password, and logged in the access log.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, bindparam, delete, insert, select, update

from storage.logins import Limits, Outcome, check_password
from storage.models import Role, RoleAssignment, Site, Study, User, WebSession
from storage.prepared import Prepared
from storage.users import RoleGrant
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


def limits(settings: Settings) -> Limits:
    """The lockout numbers of ``settings`` (see :mod:`storage.logins`)."""
    return Limits(
        per_user_and_client=settings.login_max_failures,
        per_user=settings.login_max_failures_user,
        per_client=settings.login_max_failures_client,
        window=timedelta(minutes=settings.login_window_minutes),
    )


def sign_in(
    conn: Connection, settings: Settings, username: str, password: str, remote_addr: str
) -> SignIn:
    """Check the password (unless throttled) and open a session row, in ``conn``'s write
    transaction (committed whatever the outcome: a failure is recorded)."""
    now = datetime.now(UTC)
    verdict = check_password(conn, limits(settings), username, password, client=remote_addr)
    if verdict.outcome is not Outcome.ACCEPTED or verdict.user_id is None:
        return SignIn(None, throttled=verdict.outcome is Outcome.THROTTLED)
    user_id = verdict.user_id
    conn.execute(delete(WebSession).where(WebSession.expires_at < now))
    token = secrets.token_urlsafe(32)
    conn.execute(
        insert(WebSession).values(
            token_sha256=token_hash(token),
            user_id=user_id,
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


def look_up(conn: Connection, settings: Settings, token: str, study_oid: str | None) -> Lookup:
    """The signed-in user of ``token``, with their roles in ``study_oid``."""
    digest = token_hash(token)
    rows = _LOOK_UP.all(conn, {"digest": digest})
    if not rows:
        return Lookup(None)
    last_seen_at, expires_at, lang, user_id, username, full_name, active, must_change = rows[0][:8]
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
        must_change_password=bool(must_change),
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
