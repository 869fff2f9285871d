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

from storage.engine import Connection
from storage.logins import Limits, Outcome, check_password
from storage.web_sessions import (
    delete_expired_sessions,
    delete_session,
    open_session,
    session_record,
    set_session_language,
    touch_session,
)
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
    delete_expired_sessions(conn, now)
    token = secrets.token_urlsafe(32)
    ends = now + timedelta(hours=settings.session_max_hours)
    open_session(conn, token_hash(token), user_id, now, ends)
    return SignIn(token)


def sign_out(conn: Connection, token: str) -> None:
    delete_session(conn, token_hash(token))


@dataclass(frozen=True, slots=True)
class Lookup:
    viewer: Viewer | None
    expired: bool = False
    touch: bool = False
    """The session is live and its ``last_seen_at`` should be written (see TOUCH_EVERY)."""


def look_up(conn: Connection, settings: Settings, token: str, study_oid: str | None) -> Lookup:
    """The signed-in user of ``token``, with their roles in ``study_oid``."""
    digest = token_hash(token)
    found = session_record(conn, digest)
    if found is None:
        return Lookup(None)
    now = datetime.now(UTC)
    idle = timedelta(minutes=settings.session_idle_minutes)
    if not found.active or now >= found.expires_at or now - found.last_seen_at >= idle:
        return Lookup(None, expired=True)
    viewer = Viewer(
        user_id=found.user_id,
        username=found.username,
        full_name=found.full_name,
        grants=tuple(g for g in found.grants if study_oid is None or g.study_oid == study_oid),
        session_hash=digest,
        lang=found.lang,
        must_change_password=found.must_change_password,
    )
    return Lookup(viewer, touch=now - found.last_seen_at >= TOUCH_EVERY)


def touch(conn: Connection, session_hash: str) -> None:
    touch_session(conn, session_hash, datetime.now(UTC))


def end_expired(conn: Connection, token: str) -> None:
    delete_session(conn, token_hash(token))


def set_language(conn: Connection, session_hash: str, lang: str) -> None:
    set_session_language(conn, session_hash, lang)
