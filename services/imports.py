"""Import ODM ClinicalData from a file: all or nothing, in one transaction.

:func:`import_clinical_data` takes plain inputs (an engine, a file path, the importing user,
the reason for change, dry run or not) and returns an :class:`ImportReport`: the status, the
counts and every finding. ``edc import`` presents it; a web import would present the same.
A file imported before (same FileOID and SHA-256) is not imported again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING, Any

from odm_engine.errors import EdcError
from odm_engine.exchange import read_clinical_data
from odm_engine.findings import Finding, finding, has_errors
from odm_engine.free_text import LIMITS, REASON, text_problem
from odm_engine.reading.admin import read_admin_data
from storage.engine import write_transaction
from storage.errors import BulkRejectedError
from storage.exchange import ImportOutcome, import_source, import_subjects, imported_at
from storage.history_import import history_source, import_history
from storage.studies import parent_of_site_study, site_level_studies
from storage.table_stats import refresh_statistics

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from odm_engine.exchange.records import SubjectRecord

IMPORTED, ALREADY, REJECTED, DRY_RUN, EMPTY = (
    "imported",
    "already imported",
    "rejected",
    "dry run",
    "empty",
)
"""The statuses of an :class:`ImportReport` (``empty``: the file holds no SubjectData)."""

Progress = Callable[[int, int], None]


class ImportRequestError(EdcError, ValueError):
    """The import cannot start (a refused reason for change); nothing was read."""


@dataclass(frozen=True, slots=True)
class ImportReport:
    """What an import did, or would do (dry run), or why it did nothing."""

    file: str
    status: str
    file_oid: str
    sha256: str
    profile: str
    dry_run: bool = False
    subjects: int = 0
    items_read: int = 0
    subjects_created: int = 0
    items_written: int = 0
    audit_rows: int = 0
    queries_opened: int = 0
    problems: int = 0
    findings: tuple[Finding, ...] = field(default=())

    def summary(self) -> dict[str, Any]:
        """The report as ``edc import --format json`` prints it (without the findings)."""
        return {
            "file": self.file,
            "status": self.status,
            "file_oid": self.file_oid,
            "sha256": self.sha256,
            "profile": self.profile,
            "subjects": self.subjects,
            "items": self.items_read,
            "subjects_created": self.subjects_created,
            "items_written": self.items_written,
            "audit_rows": self.audit_rows,
            "queries_opened": self.queries_opened,
            "problems": self.problems,
        }


class _Rollback(Exception):  # control flow, never escapes the service
    """Raised inside the import transaction to undo it (dry run or a rejected file)."""


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def check_reason(reason: str | None) -> None:
    """A reason for change the store would refuse is refused before the file is read."""
    refused = reason and text_problem(reason, "Reason for change (--reason)", limit=LIMITS[REASON])
    if refused:  # issue 14
        raise ImportRequestError(refused)


def import_clinical_data(
    engine: Engine | Callable[[], Engine],
    file: str,
    *,
    user: str,
    reason: str | None = None,
    study_oid: str | None = None,
    dry_run: bool = False,
    progress: Progress | None = None,
    with_history: bool = False,
) -> ImportReport:
    """Import the ClinicalData of ``file`` into ``study_oid`` (default: the study the file
    names, or the parent study of a site-level Study). Rejected (nothing written) when any
    problem is found; a dry run checks everything and writes nothing.

    ``engine`` may be a function making it, called once the file is known to hold
    SubjectData (the CLI's makes sure the database exists).

    ``with_history``: the file is an audit export of a whole study (``edc export odm
    --transactional --audit --admin``), replayed as it was into a study that holds no data
    yet (:mod:`storage.history_import`; InvalidInputError when it holds some).
    """
    check_reason(reason)
    path = Path(file)
    sha = file_sha256(path)
    reader = read_clinical_data(str(path), path=file)
    records = iter(reader)
    first = next(records, None)
    findings = list(reader.findings)
    base = {
        "file": file,
        "file_oid": reader.header.file_oid,
        "sha256": sha,
        "profile": reader.profile.name,
        "dry_run": dry_run,
    }
    if first is None:
        return ImportReport(status=EMPTY, findings=tuple(findings), **base)
    run = _Run(engine() if callable(engine) else engine, file, sha, reader, findings)
    run.history = with_history
    status, outcome = run.execute(
        chain([first], records), first, user, reason, study_oid, dry_run, progress
    )
    found = _dedupe([*run.findings, *reader.findings])
    if with_history:  # ODM-IMP-022 tells of a plain import (the source audit kept beside)
        found = [f for f in found if f.code != "ODM-IMP-022"]
    return _report(base, status, outcome, found)


class _Run:
    """One import's state: the findings it adds while the records stream through."""

    def __init__(self, engine: Engine, file: str, sha: str, reader: Any, findings: list[Finding]):
        self.engine, self.file, self.sha, self.reader = engine, file, sha, reader
        self.findings = findings
        self.history = False

    def execute(  # noqa: PLR0917 - one import's inputs
        self,
        records: Iterator[SubjectRecord],
        first: SubjectRecord,
        user: str,
        reason: str | None,
        study_oid: str | None,
        dry_run: bool,
        progress: Progress | None,
    ) -> tuple[str, Any]:
        source = (history_source if self.history else import_source)(
            self.reader.header.file_oid, self.sha
        )
        outcome = ImportOutcome()
        sites: dict[str, int] = {}  # site-level Study OIDs resolved to the parent study
        with self.engine.connect() as conn:
            when = imported_at(conn, source)
            # a site-level Study of the stored metadata (OpenClinica 3) means its parent study
            named = parent_of_site_study(conn, first.study_oid) or first.study_oid
            if named != first.study_oid:
                sites.update(site_level_studies(conn, named))
        target = study_oid or named
        if target != named:
            self.findings.append(finding("ODM-IMP-009", path=self.file, study=named, target=target))
        if when is not None:
            self.findings.append(
                finding(
                    "ODM-IMP-021",
                    path=self.file,
                    file_oid=self.reader.header.file_oid,
                    sha256=self.sha[:12],
                    when=f"{when:%Y-%m-%d %H:%M:%S} UTC",
                )
            )
            return ALREADY, outcome
        status = IMPORTED
        try:
            with write_transaction(self.engine) as conn:
                if self.history:
                    outcome = import_history(
                        conn,
                        target,
                        records,
                        user=user,
                        source=source,
                        admin=self._admin(target),
                        outcome=outcome,
                    )
                else:
                    outcome = import_subjects(
                        conn,
                        target,
                        self._flag_sites(records, sites, named),
                        user=user,
                        source=source,
                        reason=reason,
                        on_subject=progress,  # type: ignore[arg-type]
                        outcome=outcome,
                    )
                if has_errors(self.reader.findings):
                    status = REJECTED
                    raise _Rollback
                if dry_run:
                    status = DRY_RUN
                    raise _Rollback
        except BulkRejectedError:
            status = REJECTED
        except _Rollback:
            pass
        if status == IMPORTED:  # the next query is planned on the new sizes (issue 20)
            refresh_statistics(self.engine)
        return status, outcome

    def _admin(self, study_oid: str) -> Any:
        """The file's AdminData of the study (or of no study named), if it has one."""
        given = read_admin_data(self.file)
        return next((a for a in given if a.study_oid in (None, study_oid)), None)

    def _flag_sites(
        self, records: Iterator[SubjectRecord], sites: dict[str, int], named: str
    ) -> Iterator[SubjectRecord]:
        """The records, noting once per site-level Study that it is read as its parent."""
        seen: set[str] = set()
        for record in records:
            if record.study_oid in sites and record.study_oid not in seen:
                seen.add(record.study_oid)
                self.findings.append(
                    finding(
                        "ODM-IMP-011",
                        path=self.file,
                        line=record.line,
                        site=record.study_oid,
                        study=named,
                    )
                )
            yield record


def _report(
    base: dict[str, Any], status: str, outcome: Any, findings: list[Finding]
) -> ImportReport:
    for p in outcome.problems:
        where = p.key.describe() if p.key is not None else "SubjectData"
        why = p.message.removeprefix(f"Subject {p.subject_key}: ")
        shown = p.value if p.value is None or len(p.value) <= 60 else f"{p.value[:57]}..."
        why = why if shown is None else f'value "{shown}": {why}'
        findings.append(
            finding("ODM-IMP-020", path=base["file"], subject=p.subject_key, where=where, why=why)
        )
    result = outcome.result
    return ImportReport(
        status=status,
        subjects=outcome.subjects,
        items_read=outcome.items_read,
        subjects_created=result.subjects_created if result else 0,
        items_written=result.items_written if result else 0,
        audit_rows=result.audit_rows if result else 0,
        queries_opened=outcome.queries_opened,
        problems=len(outcome.problems),
        findings=tuple(findings),
        **base,
    )


def _dedupe(findings: list[Finding]) -> list[Finding]:
    seen: set[tuple[str, str, int | None]] = set()
    out = []
    for f in findings:
        key = (f.code, f.message, f.line)
        if key not in seen:
            seen.add(key)
            out.append(f)
    return out
