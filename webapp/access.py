"""Who may see and do what: the signed-in user's roles per site, and the rules of each area.

Roles come from ``storage`` (one per site, or study-wide). Clinical data is visible to
investigators, monitors and data managers at their sites; anyone else asking for a subject
of a site they do not hold gets 404, as if the subject did not exist.
"""

from __future__ import annotations

from dataclasses import dataclass

from storage.engine import Connection
from storage.errors import NotFoundError
from storage.subjects import SubjectRef, find_subject
from storage.users import RoleGrant
from storage.vocabulary import (
    ADMIN,
    ANSWER_QUERY,
    BULK_CLOSE,
    CLINICAL,
    CLOSE_QUERY,
    DASHBOARD,
    DESIGN,
    ENTER,
    EXPORT,
    LOCK,
    MIGRATE,
    RAISE_QUERY,
    SIGN,
    VERIFY,
    Role,
)
from webapp.errors import HttpError

# The role sets are defined once, in storage.vocabulary (storage checks the same on writes).
__all__ = [
    "ADMIN",
    "ANSWER_QUERY",
    "BULK_CLOSE",
    "CLINICAL",
    "CLOSE_QUERY",
    "DASHBOARD",
    "DESIGN",
    "ENTER",
    "EXPORT",
    "LOCK",
    "MIGRATE",
    "RAISE_QUERY",
    "SIGN",
    "VERIFY",
    "Viewer",
    "visible_subject",
]


@dataclass(frozen=True, slots=True)
class Viewer:
    """The signed-in user: who, their roles in the served study, their session."""

    user_id: int
    username: str
    full_name: str
    grants: tuple[RoleGrant, ...]
    session_hash: str
    lang: str | None
    must_change_password: bool = False
    """An administrator reset the password: every page but the password change is refused."""

    def role_at(self, site_oid: str | None) -> Role | None:
        """The role held at ``site_oid``: a grant for that site, else a study-wide one."""
        for g in self.grants:
            if site_oid is not None and g.site_oid == site_oid:
                return g.role
        for g in self.grants:
            if g.site_oid is None:
                return g.role
        return None

    def holds(self, roles: frozenset[Role]) -> bool:
        """True when the user holds one of ``roles`` anywhere in the study."""
        return any(g.role in roles for g in self.grants)

    def sites(self, roles: frozenset[Role], all_sites: list[str]) -> list[str]:
        """The sites (of ``all_sites``) at which the user holds one of ``roles``."""
        return [s for s in all_sites if self.role_at(s) in roles]

    def require(self, roles: frozenset[Role], site_oid: str | None, what: str) -> Role:
        """The role at the site if it is one of ``roles``; else 403."""
        role = self.role_at(site_oid)
        if role not in roles:
            names = ", ".join(sorted(r.value.replace("_", " ") for r in roles))
            raise HttpError(403, f"Only a {names} may {what}.")
        assert role is not None
        return role

    def holds_study_wide(self, roles: frozenset[Role]) -> bool:
        """True when the user holds one of ``roles`` for the whole study (no site)."""
        return any(g.role in roles and g.site_oid is None for g in self.grants)

    def require_study_wide(self, roles: frozenset[Role], what: str) -> Role:
        """The study-wide role if it is one of ``roles``; else 403. For the rights that act
        on the whole study (its metadata, its users): a grant at one site gives none of them
        (storage refuses to make one; one made before is not taken as study-wide)."""
        for g in self.grants:
            if g.role in roles and g.site_oid is None:
                return g.role
        names = ", ".join(sorted(r.value.replace("_", " ") for r in roles))
        whole = " of the whole study" if self.holds(roles) else ""
        raise HttpError(403, f"Only a {names}{whole} may {what}.")

    def require_anywhere(self, roles: frozenset[Role], what: str) -> Role:
        for g in self.grants:
            if g.role in roles:
                return g.role
        names = ", ".join(sorted(r.value.replace("_", " ") for r in roles))
        raise HttpError(403, f"Only a {names} may {what}.")


def visible_subject(
    conn: Connection, viewer: Viewer, study_oid: str, subject_key: str
) -> SubjectRef:
    """The subject, if the viewer holds a clinical role at its site; 404 otherwise."""
    try:
        subject = find_subject(conn, study_oid, subject_key)
    except NotFoundError as exc:
        raise HttpError(404, "") from exc
    if viewer.role_at(subject.site_oid) not in CLINICAL:
        raise HttpError(404, "")
    return subject
