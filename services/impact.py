"""The impact of a metadata file on a study's stored data: ``edc study impact`` and the
designer's page alike.

:func:`impact_of_file` reads the file the way a load reads it (``load_odm``, the validation
findings, the vendor profile's tolerations: ``storage.studies.parse_metadata``, then its
normalised reading), refuses a file with error findings or of another study, and
otherwise returns ``storage.impact.impact`` of its MetaDataVersion against the study's current
one. Nothing is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from odm_engine.findings import Finding, Severity, has_errors
from odm_engine.profiles import normalise
from storage.impact import ImpactReport, impact
from storage.studies import parse_metadata

if TYPE_CHECKING:
    from sqlalchemy import Connection

__all__ = ["FileImpact", "ImpactReport", "impact_of_file"]


@dataclass(frozen=True, slots=True)
class FileImpact:
    """The impact of a file, or why it was not computed (``refused``)."""

    status: Literal["checked", "refused"]
    message: str
    findings: tuple[Finding, ...] = ()
    report: ImpactReport | None = None

    @property
    def errors(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity is Severity.ERROR)


def impact_of_file(
    conn: Connection,
    xml: bytes,
    path: str | None,
    study_oid: str | None,
    *,
    site_oid: str | None = None,
    subject_key: str | None = None,
    keep: int | None = None,
) -> FileImpact:
    """What loading ``xml`` as the next version of ``study_oid`` (None: the file's own Study)
    would do to the stored values, optionally of one site's or one subject's only; ``keep``:
    how many problem values the report lists (the counts cover all). Unknown study, site or
    subject: ``storage.errors.NotFoundError``."""
    shown = path or "The file"
    odm, findings = parse_metadata(xml, path)
    if odm is None or has_errors(findings):
        return FileImpact(
            "refused", f"{shown} has error findings; fix them first.", tuple(findings)
        )
    odm = normalise(odm)
    study = odm.find_study(study_oid) if study_oid else odm.study
    mdv = study.metadata_version() if study else None
    if study is None or mdv is None:
        held = ", ".join(s.oid for s in odm.studies) or "no Study"
        wanted = f"study {study_oid}" if study_oid else "a Study"
        return FileImpact(
            "refused",
            f"{shown} holds no MetaDataVersion of {wanted} (it holds {held}); give the study's "
            "new metadata file.",
            tuple(findings),
        )
    report = impact(
        conn, study.oid, mdv, study=study, site_oid=site_oid, subject_key=subject_key, keep=keep
    )
    what = "would make stored data invalid" if report.has_impact else "leaves the stored data valid"
    return FileImpact(
        "checked",
        f"Study {study.oid}: {mdv.oid} {what} (compared with version {report.current_version}).",
        tuple(findings),
        report,
    )
