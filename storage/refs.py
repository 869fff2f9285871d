"""Snapshots of stored rows that several storage modules pass around; this module imports
nothing of storage, so every writer (``storage.audit``, ``storage.subjects``) can name them
without an import cycle."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SubjectRef:
    """A subject as found by its key: its row id, its study's and its site's ids and OIDs."""

    id: int
    study_id: int
    study_oid: str
    subject_key: str
    site_id: int | None
    site_oid: str | None
    metadata_version: int | None = None
    """The number of the metadata version its data are collected under, where the lookup
    read it (``storage.subjects.find_subject`` does: a page needs it with the subject, and a
    second query for it cost a save about 0.3 ms); None where it was not read."""
