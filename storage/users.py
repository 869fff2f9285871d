"""Users and their roles per study and site; passwords as werkzeug hashes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, bindparam, delete, insert, select
from werkzeug.security import check_password_hash, generate_password_hash

from odm_engine.free_text import FULL_NAME, USERNAME, check_text
from storage import vocabulary
from storage.errors import AccessDeniedError, InvalidInputError, NotFoundError, PolicyError
from storage.models import AccessEvent, AccessLogRow, Role, RoleAssignment, Site, Study, User
from storage.passwords import check_password_policy
from storage.prepared import Prepared

WRITE_ROLES, IMPORT_ROLES, SIGN_ROLES = vocabulary.ENTER, vocabulary.IMPORT, vocabulary.SIGN
STUDY_WIDE_ROLES = vocabulary.STUDY_WIDE
"""The role sets of :mod:`storage.vocabulary` (defined there once) under their storage names."""


@dataclass(frozen=True, slots=True)
class RoleGrant:
    study_oid: str
    site_oid: str | None
    """None: the role holds at every site of the study."""
    role: Role


@dataclass(frozen=True, slots=True)
class UserInfo:
    id: int
    username: str
    full_name: str
    email: str | None
    active: bool
    roles: tuple[RoleGrant, ...]


def add_user(
    conn: Connection,
    username: str,
    password: str,
    *,
    full_name: str = "",
    email: str | None = None,
    by: str = "system",
    client: str | None = None,
) -> int:
    """Create a user; returns its id. The password must meet the policy
    (:func:`storage.passwords.check_password_policy`) and is stored as a werkzeug hash only.
    ``by``: who adds the user (a username, or ``cli``), for the access log."""
    if not username.strip():
        raise InvalidInputError("username must not be empty")
    if username.strip().lower() == vocabulary.SYSTEM_USER:
        raise InvalidInputError(
            f"username {username!r} is reserved: the system's automatic query closes carry it"
        )
    check_text(username, "Username", USERNAME)  # issue 14: XML-safe and within the column
    check_text(full_name, "Full name", FULL_NAME)
    check_text(email, "Email", FULL_NAME)
    check_password_policy(username, password)
    if conn.scalar(select(User.id).where(User.username == username)) is not None:
        raise InvalidInputError(f"user {username!r} exists already")
    result = conn.execute(
        insert(User).values(
            username=username,
            full_name=full_name,
            email=email,
            password_hash=generate_password_hash(password),
            active=True,
            created_at=datetime.now(UTC),
        )
    )
    _log(conn, by, AccessEvent.USER_ADDED, username, client=client)
    return int(result.inserted_primary_key[0])


def authenticate(conn: Connection, username: str, password: str) -> UserInfo | None:
    """The user if the password matches and the account is active, else None."""
    row = conn.execute(
        select(User.password_hash, User.active).where(User.username == username)
    ).one_or_none()
    if row is None or not row.active or not check_password_hash(row.password_hash, password):
        return None
    return get_user(conn, username)


def get_user(conn: Connection, username: str) -> UserInfo:
    row = conn.execute(select(User).where(User.username == username)).one_or_none()
    if row is None:
        raise NotFoundError(f"No user {username!r}. Add it with `edc user add`.")
    grants = conn.execute(
        select(Study.oid, Site.oid, RoleAssignment.role)
        .join(Study, Study.id == RoleAssignment.study_id)
        .outerjoin(Site, Site.id == RoleAssignment.site_id)
        .where(RoleAssignment.user_id == row.id)
        .order_by(Study.oid, Site.oid, RoleAssignment.role)
    ).all()
    return UserInfo(
        id=row.id,
        username=row.username,
        full_name=row.full_name,
        email=row.email,
        active=row.active,
        roles=tuple(RoleGrant(s, site, Role(r)) for s, site, r in grants),
    )


def user_exists(conn: Connection, username: str) -> bool:
    """True when a user of that name exists (active or not)."""
    return conn.scalar(select(User.id).where(User.username == username)) is not None


def list_users(conn: Connection) -> list[UserInfo]:
    names = conn.scalars(select(User.username).order_by(User.username)).all()
    return [get_user(conn, n) for n in names]


def set_role(
    conn: Connection,
    username: str,
    study_oid: str,
    role: Role | str,
    *,
    site_oid: str | None = None,
    replace: bool = True,
    by: str = "system",
    client: str | None = None,
) -> None:
    """Give ``username`` ``role`` in the study at ``site_oid`` (None: every site).

    With ``replace`` the user's other roles at that same site (or study-wide) are removed,
    so a user holds one role per site. Each grant and removal goes into the access log with
    ``by``, the user (or ``cli``) making the change, in the caller's transaction.

    Refused (:class:`PolicyError`): a study designer or administrator at one site (their
    rights act on the whole study), a clinical or design role for an administrator, and the
    administrator role for a user holding any other role.
    """
    role = Role(role)
    user = get_user(conn, username)
    _check_separation(user, role, site_oid)
    study_id = _study_id(conn, study_oid)
    site_id = _site_id(conn, study_id, site_oid) if site_oid else None
    same_place = (
        RoleAssignment.site_id.is_(None) if site_id is None else RoleAssignment.site_id == site_id
    )
    where = (RoleAssignment.user_id == user.id, RoleAssignment.study_id == study_id, same_place)
    if replace:
        others = RoleAssignment.role != role.value
        for old in conn.scalars(select(RoleAssignment.role).where(*where, others)).all():
            where_old = (study_oid, site_oid, old)
            _log(conn, by, AccessEvent.ROLE_REVOKED, username, where_old, client=client)
        conn.execute(delete(RoleAssignment).where(*where, others))
    exists = conn.scalar(select(RoleAssignment.id).where(*where, RoleAssignment.role == role.value))
    if exists is None:
        conn.execute(
            insert(RoleAssignment).values(
                user_id=user.id, study_id=study_id, site_id=site_id, role=role.value
            )
        )
        granted = (study_oid, site_oid, role.value)
        _log(conn, by, AccessEvent.ROLE_GRANTED, username, granted, client=client)


def _check_separation(user: UserInfo, role: Role, site_oid: str | None) -> None:
    """Study-wide roles only study-wide; administrators hold no other role (any study)."""
    if site_oid and role in STUDY_WIDE_ROLES:
        raise PolicyError(
            "site_scoped_role",
            f"The role {role.value} acts on the whole study: grant it at every site, not at "
            f"{site_oid}.",
            role=role.value,
            site=site_oid,
        )
    held = {g.role for g in user.roles}
    if role is not Role.ADMIN and Role.ADMIN in held:
        raise PolicyError(
            "admin_only",
            f"{user.username} is an administrator: administrators manage users and hold no "
            f"clinical or design role. Give the {role.value} role to a separate account.",
            username=user.username,
            role=role.value,
        )
    if role is Role.ADMIN and held - {Role.ADMIN}:
        others = ", ".join(sorted(r.value for r in held - {Role.ADMIN}))
        raise PolicyError(
            "admin_not_clinical",
            f"{user.username} holds other roles ({others}): an administrator holds no "
            "clinical or design role. Make a separate administrator account, or revoke "
            "those roles first.",
            username=user.username,
            roles=others,
        )


@dataclass(frozen=True, slots=True)
class AccessEntry:
    """One row of the access log."""

    seq: int
    recorded_at: datetime
    actor: str
    event: AccessEvent
    username: str
    study_oid: str | None
    site_oid: str | None
    """None on a role row: every site of the study."""
    role: str | None
    client: str | None = None
    """The client address of the web request behind the row; None from the CLI."""


def _log(
    conn: Connection,
    actor: str,
    event: AccessEvent,
    username: str,
    where: tuple[str | None, str | None, str | None] = (None, None, None),
    *,
    client: str | None = None,
) -> None:
    """One access-log row; ``where``: (study, site, role) of a role row; ``client``: the
    address of the web request behind it (None from the CLI)."""
    study_oid, site_oid, role = where
    conn.execute(
        insert(AccessLogRow).values(
            recorded_at=datetime.now(UTC),
            actor=actor[:100],
            event=event.value,
            username=username[:100],
            study_oid=study_oid,
            site_oid=site_oid,
            role=role,
            client=None if client is None else client[:64],
        )
    )


def access_log(
    conn: Connection, *, username: str | None = None, limit: int | None = None
) -> list[AccessEntry]:
    """The access log (of one user), newest first."""
    query = select(AccessLogRow.__table__).order_by(AccessLogRow.seq.desc())
    if username is not None:
        query = query.where(AccessLogRow.username == username)
    if limit is not None:
        query = query.limit(limit)
    return [
        AccessEntry(
            r.seq,
            r.recorded_at,
            r.actor,
            AccessEvent(r.event),
            r.username,
            r.study_oid,
            r.site_oid,
            r.role,
            r.client,
        )
        for r in conn.execute(query)
    ]


_USER_AND_ROLE = Prepared(
    select(User.id, User.active, RoleAssignment.id)
    .outerjoin(
        RoleAssignment,
        (RoleAssignment.user_id == User.id)
        & (RoleAssignment.study_id == bindparam("study_id"))
        & (RoleAssignment.role == bindparam("role"))
        & (RoleAssignment.site_id.is_(None) | (RoleAssignment.site_id == bindparam("site_id"))),
    )
    .where(User.username == bindparam("username"))
    .limit(1)
)
"""The user and a grant of the role at the site (or study-wide): one statement per save,
built once. A None ``site_id`` matches only study-wide grants (``site_id = NULL`` is never
true)."""


def require_role(
    conn: Connection,
    username: str,
    role: Role | str,
    *,
    study_id: int,
    site_id: int | None,
    allowed: frozenset[Role],
    action: str,
) -> int:
    """The user's id, if the user is active, holds ``role`` here and ``role`` may do ``action``."""
    role = Role(role)
    params = {"username": username, "study_id": study_id, "role": role.value, "site_id": site_id}
    row = _USER_AND_ROLE.first(conn, params)
    if row is None or not row[1]:
        raise AccessDeniedError(f"No active user {username!r}.")
    if role not in allowed:
        names = ", ".join(sorted(r.value for r in allowed))
        raise AccessDeniedError(f"Role {role.value} may not {action}; {names} may.")
    if row[2] is None:
        raise AccessDeniedError(
            f"User {username} does not hold the role {role.value} at this site; "
            "grant it with `edc user set-role`."
        )
    return int(row[0])


def _study_id(conn: Connection, study_oid: str) -> int:
    study_id = conn.scalar(select(Study.id).where(Study.oid == study_oid))
    if study_id is None:
        raise NotFoundError(f"No study {study_oid!r}. Load its metadata with `edc study load`.")
    return int(study_id)


def _site_id(conn: Connection, study_id: int, site_oid: str) -> int:
    site_id = conn.scalar(select(Site.id).where(Site.study_id == study_id, Site.oid == site_oid))
    if site_id is None:
        raise NotFoundError(
            f"No site {site_oid!r} in this study. Sites come from AdminData Locations."
        )
    return int(site_id)
