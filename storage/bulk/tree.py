"""What is stored of a subject the bulk path writes to: ids of its events, forms (with status
and version) and item groups."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from odm_engine.clinical import FormKey, ItemKey
from storage.models import Form, ItemGroup, StudyEvent


@dataclass(slots=True)
class Tree:
    """Ids of a subject's events, forms (with status, version) and item groups."""

    events: dict[tuple[str, str], int]
    forms: dict[FormKey, tuple[int, str, int]]
    groups: dict[Any, int]

    @classmethod
    def empty(cls) -> Tree:
        return cls({}, {}, {})

    @classmethod
    def load(cls, conn: Connection, subject_id: int) -> Tree:
        tree = cls({}, {}, {})
        for eid, eoid, erk in conn.execute(
            select(StudyEvent.id, StudyEvent.study_event_oid, StudyEvent.repeat_key).where(
                StudyEvent.subject_id == subject_id
            )
        ):
            tree.events[(eoid, erk)] = eid
        for eoid, erk, fid, foid, frk, status, version in conn.execute(
            select(
                StudyEvent.study_event_oid,
                StudyEvent.repeat_key,
                Form.id,
                Form.form_oid,
                Form.repeat_key,
                Form.status,
                Form.version,
            )
            .join(StudyEvent, StudyEvent.id == Form.study_event_id)
            .where(StudyEvent.subject_id == subject_id)
        ):
            tree.forms[FormKey(eoid, erk, foid, frk)] = (fid, status, version)
        for eoid, erk, foid, frk, gid, goid, grk in conn.execute(
            select(
                StudyEvent.study_event_oid,
                StudyEvent.repeat_key,
                Form.form_oid,
                Form.repeat_key,
                ItemGroup.id,
                ItemGroup.item_group_oid,
                ItemGroup.repeat_key,
            )
            .join(Form, Form.id == ItemGroup.form_id)
            .join(StudyEvent, StudyEvent.id == Form.study_event_id)
            .where(StudyEvent.subject_id == subject_id)
        ):
            tree.groups[ItemKey(eoid, erk, foid, frk, goid, grk, "").group_key] = gid
        return tree
