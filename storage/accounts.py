"""Taking access away and changing passwords: deactivate and reactivate a user, revoke a
role, change one's own password, an operator's new password, an administrator's reset.

Each change writes its access-log row in the caller's transaction. Whatever ends a user's
access (deactivation, a reset, a new password) also deletes their ``web_sessions`` rows, so
a browser signed in before is signed out at its next request.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Connection, delete, select, update
from werkzeug.security import check_password_hash, generate_password_hash

from storage.errors import NotFoundError, PolicyError
from storage.models import AccessEvent, Role, RoleAssignment, User, WebSession
from storage.passwords import check_password_policy, one_time_password
from storage.users import _log, _site_id, _study_id


def _user_row(conn: Connection, username: str) -> tuple[int, bool, str]:
    """(id, active, password hash) of ``username``."""
    row = conn.execute(
        select(User.id, User.active, User.password_hash).where(User.username == username)
    ).one_or_none()
    if row is None:
        raise NotFoundError(f"No user {username!r}. Add it with `edc user add`.")
    return int(row[0]), bool(row[1]), str(row[2])


def end_sessions(conn: Connection, user_id: int, *, keep: str | None = None) -> int:
    """Delete the user's web sessions (but the one whose token hash is ``keep``); their count."""
    query = delete(WebSession).where(WebSession.user_id == user_id)
    if keep is not None:
        query = query.where(WebSession.token_sha256 != keep)
    return int(conn.execute(query).rowcount or 0)


def deactivate_user(conn: Connection, username: str, *, by: str, client: str | None = None) -> bool:
    """Make the account inactive and end its sessions: it can no longer sign in, save, sign
    or import. False (and no log row) if it was inactive already."""
    if username == by:
        raise PolicyError(
            "own_account",
            "You cannot deactivate your own account; ask another administrator.",
        )
    return _set_active(conn, username, False, by=by, client=client)


def activate_user(conn: Connection, username: str, *, by: str, client: str | None = None) -> bool:
    """Make the account active again (its roles are as they were). False if it was active."""
    return _set_active(conn, username, True, by=by, client=client)


def _set_active(
    conn: Connection, username: str, active: bool, *, by: str, client: str | None
) -> bool:
    user_id, was_active, _ = _user_row(conn, username)
    if was_active == active:
        return False
    conn.execute(update(User).where(User.id == user_id).values(active=active))
    if not active:
        end_sessions(conn, user_id)
    event = AccessEvent.USER_ACTIVATED if active else AccessEvent.USER_DEACTIVATED
    _log(conn, by, event, username, client=client)
    return True


def revoke_role(
    conn: Connection,
    username: str,
    study_oid: str,
    role: Role | str,
    *,
    site_oid: str | None = None,
    by: str,
    client: str | None = None,
) -> None:
    """Take ``role`` at ``site_oid`` (None: the study-wide grant) away from ``username``."""
    role = Role(role)
    user_id, _, _ = _user_row(conn, username)
    study_id = _study_id(conn, study_oid)
    site_id = _site_id(conn, study_id, site_oid) if site_oid else None
    place = (
        RoleAssignment.site_id.is_(None) if site_id is None else RoleAssignment.site_id == site_id
    )
    removed = conn.execute(
        delete(RoleAssignment).where(
            RoleAssignment.user_id == user_id,
            RoleAssignment.study_id == study_id,
            RoleAssignment.role == role.value,
            place,
        )
    ).rowcount
    where = site_oid or "every site"
    if not removed:
        raise PolicyError(
            "not_held",
            f"{username} does not hold {role.value} in {study_oid} at {where}; nothing was "
            "revoked.",
            username=username,
            role=role.value,
            study=study_oid,
            site=site_oid or "*",
        )
    _log(
        conn, by, AccessEvent.ROLE_REVOKED, username, (study_oid, site_oid, role.value),
        client=client,
    )  # fmt: skip


def _store_password(conn: Connection, user_id: int, password: str, *, must_change: bool) -> None:
    conn.execute(
        update(User)
        .where(User.id == user_id)
        .values(
            password_hash=generate_password_hash(password),
            must_change_password=must_change,
            password_changed_at=datetime.now(UTC),
        )
    )


def change_password(
    conn: Connection,
    username: str,
    current: str,
    new: str,
    *,
    keep_session: str | None = None,
    client: str | None = None,
) -> None:
    """The user changes their own password: ``current`` must be right, ``new`` must differ
    and meet the policy. Their other sessions end (``keep_session``: this one's token hash);
    a reset's demand to change the password is met."""
    user_id, active, stored = _user_row(conn, username)
    if not active or not check_password_hash(stored, current):
        raise PolicyError("wrong_current", "The current password is wrong.")
    if new == current:
        raise PolicyError("unchanged", "The new password must differ from the current one.")
    check_password_policy(username, new)
    _store_password(conn, user_id, new, must_change=False)
    end_sessions(conn, user_id, keep=keep_session)
    _log(conn, username, AccessEvent.PASSWORD_CHANGED, username, client=client)


def set_password(conn: Connection, username: str, new: str, *, by: str) -> None:
    """An operator sets ``username``'s password (``edc user passwd``): policy checked, the
    user's sessions end."""
    user_id, _, _ = _user_row(conn, username)
    check_password_policy(username, new)
    _store_password(conn, user_id, new, must_change=False)
    end_sessions(conn, user_id)
    _log(conn, by, AccessEvent.PASSWORD_CHANGED, username)


def reset_password(conn: Connection, username: str, *, by: str, client: str | None = None) -> str:
    """An administrator's reset: a random one-time password (returned to be shown once, never
    stored in clear), the user's sessions end, and at the next sign-in every page but the
    password change is refused until the user sets a password of their own."""
    user_id, _, _ = _user_row(conn, username)
    password = one_time_password(username)
    _store_password(conn, user_id, password, must_change=True)
    end_sessions(conn, user_id)
    _log(conn, by, AccessEvent.PASSWORD_RESET, username, client=client)
    return password
