"""Load a study's metadata: the one use case behind ``edc study load`` and the designer's upload.

:func:`load_metadata` stores an ODM file as the study's next metadata version (or finds it
unchanged, or refuses it with findings) in the caller's write transaction, and returns the
store's :class:`~storage.studies.StudyLoadResult`. Nothing is printed or rendered here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from storage.studies import OTHER_STUDY_CODE, StudyLoadResult, load_study
from storage.users import get_user, set_role
from storage.vocabulary import Role

if TYPE_CHECKING:
    from sqlalchemy import Connection

__all__ = [
    "OTHER_STUDY_CODE",
    "StudyLoadResult",
    "create_study",
    "load_metadata",
    "of_another_study",
]


def load_metadata(
    conn: Connection,
    xml: bytes,
    *,
    path: str | None = None,
    loaded_by: str | None = None,
    study_oid: str | None = None,
    publish: bool = False,
    reason: str | None = None,
) -> StudyLoadResult:
    """Store ``xml`` as the next metadata version; see :func:`storage.studies.load_study`
    (``publish``: publish it at once, for ``reason``).

    ``study_oid``: the one study this load may be for (a study's design page); without it a
    file of a study the database does not hold yet adds that study.
    """
    return load_study(
        conn,
        xml,
        path=path,
        loaded_by=loaded_by,
        study_oid=study_oid,
        publish=publish,
        reason=reason,
    )


def create_study(
    conn: Connection, xml: bytes, *, path: str | None, by: str, client: str | None = None
) -> StudyLoadResult:
    """Store ``xml`` as the first version of a study the database does not hold yet, and make
    ``by`` its study designer (study-wide): the designer's "new study" upload.

    An administrator holds no design role (``storage.users`` keeps the two apart), so an
    administrator who creates a study becomes its administrator instead, and grants the
    designer role to whom it belongs. Refused (nothing stored, no role given) when the
    file's study exists already: a new version of an existing study needs the designer role
    in that study, on its own page. The grant is in the access log (by ``by``, from
    ``client``), in the same transaction as the study.
    """
    result = load_study(conn, xml, path=path, loaded_by=by, new_study=True)
    if result.status == "stored" and result.study_oid is not None:
        held = {g.role for g in get_user(conn, by).roles}
        role = Role.ADMIN if Role.ADMIN in held else Role.STUDY_DESIGNER
        set_role(conn, by, result.study_oid, role, by=by, client=client)
    return result


def of_another_study(result: StudyLoadResult) -> bool:
    """Refused because the file is of another study than the database holds."""
    return any(f.code == OTHER_STUDY_CODE for f in result.findings)
