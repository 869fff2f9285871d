"""Export the study: ONE registry of export formats, read by ``edc export`` and the web's
/exports page alike.

Each :class:`ExportFormat` is one line of :data:`FORMATS`: its name (the CLI subcommand and
the web form), file suffix and media type, the :data:`OPTIONS` it takes, and the function that
writes it (a renderer, wrapped by :func:`clinical_file`, :func:`tabular_files` or
:func:`metadata_file` to get its input from the store). The CLI builds one ``edc export NAME``
command per entry and the web one form and one download per entry, so a new format is one
writer module in ``renderers/`` and one line here (see docs/architecture.md, "How to add an
export format"; ``tests/services/test_exports.py`` keeps that honest).

:func:`export` writes one format into a binary stream (several files become one zip);
:func:`export_to_path` writes it to a file or directory, replacing ``output`` only once the
export succeeded. Exports only read.
"""

from __future__ import annotations

import importlib
import os
import re
import shutil
import tempfile
import uuid
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from odm_engine import model as m

__all__ = [
    "FORMATS",
    "OPTIONS",
    "ExportFormat",
    "ExportResult",
    "ExportSelection",
    "export",
    "export_format",
    "export_to_path",
]

Progress = Callable[[int, int], None]
"""Called with (subjects, items) written so far."""


@dataclass(frozen=True, slots=True)
class ExportSelection:
    """What to export: plain values, as the CLI flags or the web form gave them. A format
    reads only the fields named by its :attr:`ExportFormat.options`."""

    study_oid: str | None
    mode: str = "snapshot"
    """ODM: one of :data:`ODM_MODES`."""
    since: str | None = None
    """An ISO 8601 date or timestamp as the user wrote it (:func:`parse_since` reads it)."""
    site: str | None = None
    subject_keys: tuple[str, ...] = ()
    with_metadata: bool = False
    with_admin: bool = False
    odm: m.ODM | None = None
    """Describe this metadata instead of the study's current metadata in the store."""
    crf_pages: Mapping[str, Sequence[int]] | None = None
    """Item OID -> aCRF pages (``edc print acrf``'s page map), for def:PDFPageRef."""
    acrf: bool = False
    """No page map given: print the aCRF to learn it (takes seconds)."""
    ct_version: str | None = None
    """The NCI/CDISC controlled terminology version (``2024-12-20``) Define-XML names in its
    def:Standards; None: ``unspecified``, Status ``Draft``."""


@dataclass(frozen=True, slots=True)
class ExportResult:
    """What was written: counts for the message, and the file names of a multi-file export."""

    summary: str
    """``2 subjects, 14 items (Snapshot).``, ``Define-XML 2.1 written``, ``6 files written``."""
    subjects: int = 0
    items: int = 0
    files: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ExportFormat:
    """One export format: one line of :data:`FORMATS`."""

    name: str
    """The CLI subcommand (``edc export NAME``), the web form and endpoint."""
    title: str
    """What it is, e.g. ``Define-XML 2.1``."""
    help: str
    """One paragraph: the CLI command's help (the web shows its i18n text ``exports.NAME``)."""
    media_type: str
    """Of the web download (a multi-file format downloads as ``application/zip``)."""
    suffix: str
    """Of the one file written, or of each file of a multi-file format."""
    file_name: str
    """The web download's name: ``{study}``, ``{mode}`` and ``{stamp}`` are filled in."""
    options: tuple[str, ...]
    """Names from :data:`OPTIONS`: what the CLI and the web form offer for this format."""
    source: str
    """What the writer reads, one of :data:`SOURCES`: ``clinical`` (ClinicalData records into
    one file, as :func:`renderers.odm.write_odm`), ``tabular`` (metadata and current values
    into one file per item group, as :func:`renderers.tabular.write_csv`) or ``metadata``
    (the study metadata into one file's bytes, as :func:`renderers.define.write_define`)."""
    writer: str
    """``module:function`` of the writer, imported when the export runs (`edc --help` stays
    fast)."""

    @property
    def multi_file(self) -> bool:
        """Writes a directory of files (the CLI's ``-o DIR``; a zip on the web)."""
        return self.source == "tabular"

    @property
    def download_type(self) -> str:
        return "application/zip" if self.multi_file else self.media_type

    def write_function(self) -> Callable[..., Any]:
        module, _, name = self.writer.partition(":")
        return getattr(importlib.import_module(module), name)  # type: ignore[no-any-return]


OPTIONS: Mapping[str, str] = {
    "mode": "snapshot (current values), transactional (the same as Upsert transactions), or "
    "audit (every change with its AuditRecord)",
    "since": "only what changed after this ISO 8601 date or timestamp",
    "site": "only this site (LocationOID)",
    "subjects": "only these subjects (SubjectKey)",
    "with_metadata": "include the study metadata",
    "with_admin": "include AdminData (users, sites)",
    "metadata_file": "describe this ODM file instead of the study in the database",
    "crf_pages": "the aCRF page map (item OID -> pages) for def:PDFPageRef",
    "ct_version": "the CDISC controlled terminology version (YYYY-MM-DD) for def:Standards",
}
"""Every option an export format may take (a field of :class:`ExportSelection`); each
adapter knows how to ask for each one (``tests/services/test_exports.py`` checks both do)."""


# --- the glue from the store to each kind of writer (one per ExportFormat.source) ---


def _clinical(
    fmt: ExportFormat,
    conn: Connection | None,
    sel: ExportSelection,
    out: BinaryIO,
    progress: Progress | None,
) -> ExportResult:
    """ClinicalData records, as the selection picks them, into one ODM file."""
    from renderers.odm import OdmExportOptions
    from storage.export_source import OdmSelection, odm_source, parse_since

    selection = OdmSelection(
        mode=sel.mode,
        since=parse_since(sel.since),
        site=sel.site,
        subject_keys=sel.subject_keys,
        with_metadata=sel.with_metadata,
        with_admin=sel.with_admin,
    )
    study_oid = _required_study(sel)
    source = odm_source(_required(conn), study_oid, selection)
    options = OdmExportOptions(
        file_oid=f"{study_oid}.export.{uuid.uuid4()}",
        file_type=selection.file_type,
        description=f"Changes after {sel.since}" if sel.since else None,
    )
    stats = fmt.write_function()(
        out,
        source.records,
        options,
        metadata=source.metadata,
        admin=source.admin,
        study_oid=source.study_oid,
        on_subject=(lambda s: progress(s.subjects, s.items)) if progress else None,
    )
    summary = f"{stats.subjects} subjects, {stats.items} items ({options.file_type})."
    return ExportResult(summary, stats.subjects, stats.items)


def _tabular(
    fmt: ExportFormat,
    conn: Connection | None,
    sel: ExportSelection,
    out_dir: Path,
    _progress: Progress | None,
) -> ExportResult:
    """The current metadata and values (of one site, if named) into one file per group."""
    from storage.export_source import tabular_source

    source = tabular_source(_required(conn), _required_study(sel), site=sel.site)
    files = fmt.write_function()(
        out_dir,
        source.odm,
        source.records,
        study_oid=source.study_oid,
        db_last_modified=source.last_change,
        key_data=source.key_data,
    )
    return ExportResult(f"{len(files)} files written", files=tuple(p.name for p in files))


def _metadata(
    fmt: ExportFormat,
    conn: Connection | None,
    sel: ExportSelection,
    out: BinaryIO,
    _progress: Progress | None,
) -> ExportResult:
    """The study metadata (the store's current version, or ``sel.odm``) into one file, with
    the aCRF page map when one is given or asked for."""
    from renderers.define import DefineOptions

    odm, key_data, contributing = sel.odm, None, {}
    if odm is None:
        from storage.export_source import key_lengths
        from storage.export_versions import contributing_versions
        from storage.studies import current_metadata

        odm = current_metadata(_required(conn), _required_study(sel)).odm
        key_data = key_lengths(_required(conn), _required_study(sel))
        contributing = contributing_versions(_required(conn), _required_study(sel))
    study = odm.find_study(sel.study_oid) if sel.study_oid else odm.study
    if study is None:
        raise _refused("the ODM file has no Study to describe")
    if study.metadata_version() is None:
        raise _refused(f"Study {study.oid} has no MetaDataVersion to describe")
    pages = sel.crf_pages
    if pages is None and sel.acrf:
        from renderers.print import print_acrf

        pages = print_acrf(study).page_map.items
    options = DefineOptions(
        crf_pages=pages or {},
        ct_version=sel.ct_version,
        key_data=key_data,
        contributing=contributing,
    )
    data = fmt.write_function()(odm, options, study_oid=sel.study_oid)
    out.write(data)
    return ExportResult(f"{fmt.title} written")


SOURCES: Mapping[str, Callable[..., ExportResult]] = {
    "clinical": _clinical,
    "tabular": _tabular,
    "metadata": _metadata,
}


CT_VERSION = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])")
"""A CDISC controlled terminology release is named by its publication date."""


def ct_version_problem(value: str) -> str | None:
    """Why ``value`` is not a controlled terminology version, or None."""
    if CT_VERSION.fullmatch(value):
        return None
    return (
        f"'{value[:40]}' is not a CDISC controlled terminology version: give the release's "
        "date as YYYY-MM-DD, e.g. 2024-12-20."
    )


def _refused(message: str) -> Exception:
    from storage.export_source import ExportRequestError

    return ExportRequestError(message)


def _required(conn: Connection | None) -> Connection:
    if conn is None:
        raise _refused("this export reads the study database: give one")
    return conn


def _required_study(sel: ExportSelection) -> str:
    if sel.study_oid is None:
        raise _refused("this export needs the study OID")
    return sel.study_oid


# --- THE registry: one line per format ---

FORMATS: Mapping[str, ExportFormat] = {
    f.name: f
    for f in (
        ExportFormat(
            "odm",
            "ODM 1.3.2",
            "Write the study's ClinicalData as ODM 1.3.2 (streamed; memory stays flat).",
            "application/xml",
            ".xml",
            "{study}-odm-{mode}-{stamp}.xml",
            ("mode", "since", "site", "subjects", "with_metadata", "with_admin"),
            "clinical",
            "renderers.odm:write_odm",
        ),
        ExportFormat(
            "define",
            "Define-XML 2.1",
            "Write Define-XML 2.1 generated from the study metadata.",
            "application/xml",
            ".xml",
            "define.xml",
            ("metadata_file", "crf_pages", "ct_version"),
            "metadata",
            "renderers.define:write_define",
        ),
        ExportFormat(
            "csv",
            "CSV",
            "One CSV per item group (a row per repeat), plus a header file of labels.",
            "text/csv",
            ".csv",
            "{study}-csv-{stamp}.zip",
            ("site",),
            "tabular",
            "renderers.tabular:write_csv",
        ),
        ExportFormat(
            "dataset-json",
            "Dataset-JSON 1.1",
            "CDISC Dataset-JSON 1.1, one file per item group, matching the Define-XML export.",
            "application/json",
            ".json",
            "{study}-dataset-json-{stamp}.zip",
            ("site",),
            "tabular",
            "renderers.tabular:write_dataset_json",
        ),
    )
}
"""Every export format, in the order the CLI help and the web page list them."""


def export_format(name: str) -> ExportFormat:
    if name not in FORMATS:
        raise _refused(f"Unknown export format {name!r}: choose one of {', '.join(FORMATS)}.")
    return FORMATS[name]


def export(
    name: str,
    conn: Connection | None,
    selection: ExportSelection,
    out: BinaryIO,
    *,
    progress: Progress | None = None,
) -> ExportResult:
    """Write format ``name`` into ``out``; the files of a multi-file format as one zip."""
    fmt = export_format(name)
    write = SOURCES[fmt.source]
    if not fmt.multi_file:
        return write(fmt, conn, selection, out, progress)
    with tempfile.TemporaryDirectory(prefix="edc-export-") as tmp:
        result = write(fmt, conn, selection, Path(tmp), progress)
        with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for file in result.files:
                archive.write(Path(tmp) / file, arcname=file)
    return result


def export_to_path(
    name: str,
    conn: Connection | None,
    selection: ExportSelection,
    output: str,
    *,
    progress: Progress | None = None,
) -> ExportResult:
    """Write format ``name`` to the file (or, for a multi-file format, the directory)
    ``output``. An OSError of the output propagates; ``output`` is then as it was."""
    fmt = export_format(name)
    write = SOURCES[fmt.source]
    if fmt.multi_file:
        with replacing(output, directory=True) as tmp:
            return write(fmt, conn, selection, tmp, progress)
    with replacing(output) as tmp, tmp.open("wb") as out:
        return write(fmt, conn, selection, out, progress)


@contextmanager
def replacing(output: str, *, directory: bool = False) -> Iterator[Path]:
    """A temporary file (or directory) next to ``output`` to write into, renamed onto
    ``output`` when the block ends well and removed when it fails: a failed export leaves
    no truncated file, and an older export at ``output`` stays as it was (issue 14). A
    directory's files are renamed into ``output`` one by one (other files there stay)."""
    target = Path(output)
    if not directory and target.exists() and not target.is_file():
        yield target  # /dev/stdout, a FIFO: nothing to rename
        return
    parent = target.parent
    prefix = f".{target.name}."
    if directory:
        parent.mkdir(parents=True, exist_ok=True)  # as the writers make ``output``
        tmp = Path(tempfile.mkdtemp(prefix=prefix, suffix=".tmp", dir=parent))
    else:
        fd, name = tempfile.mkstemp(prefix=prefix, suffix=".tmp", dir=parent)
        os.close(fd)
        tmp = Path(name)
        umask = os.umask(0)
        os.umask(umask)
        tmp.chmod(0o666 & ~umask)  # as open(output, "w") would have made it
    try:
        yield tmp
        if directory:
            target.mkdir(exist_ok=True)
            for path in tmp.iterdir():
                os.replace(path, target / path.name)
        else:
            os.replace(tmp, target)
    finally:
        if directory:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.unlink(missing_ok=True)
