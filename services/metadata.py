"""Load a study's metadata: the one use case behind ``edc study load`` and the designer's upload.

:func:`load_metadata` stores an ODM file as the study's next metadata version (or finds it
unchanged, or refuses it with findings) in the caller's write transaction, and returns the
store's :class:`~storage.studies.StudyLoadResult`. Nothing is printed or rendered here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from storage.studies import OTHER_STUDY_CODE, StudyLoadResult, load_study

if TYPE_CHECKING:
    from sqlalchemy import Connection

__all__ = ["OTHER_STUDY_CODE", "StudyLoadResult", "load_metadata", "of_another_study"]


def load_metadata(
    conn: Connection,
    xml: bytes,
    *,
    path: str | None = None,
    loaded_by: str | None = None,
    study_oid: str | None = None,
    another_study: bool = False,
) -> StudyLoadResult:
    """Store ``xml`` as the next metadata version; see :func:`storage.studies.load_study`.

    ``study_oid``: the one study this load may be for (the web app's served study); else,
    unless ``another_study``, the file must be of the study the database already holds.
    """
    return load_study(
        conn,
        xml,
        path=path,
        loaded_by=loaded_by,
        study_oid=study_oid,
        another_study=another_study,
    )


def of_another_study(result: StudyLoadResult) -> bool:
    """Refused because the file is of another study than the database holds."""
    return any(f.code == OTHER_STUDY_CODE for f in result.findings)
