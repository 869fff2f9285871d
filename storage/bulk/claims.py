"""The rows a subject's values hang on, for the bulk writer: its events, its forms (their
status and version moves, each audited as ``save_form`` audits it) and item groups.

:class:`FormRows` is a part of :class:`storage.bulk.writer.BulkWriter` (its base class): it
works on the writer's buffers, ids and problems, declared below.
"""

from __future__ import annotations

from typing import Any

from odm_engine.clinical import FormKey, GroupKey
from odm_engine.entry_validation import second_instance_problem
from storage.bulk.ids import IdAllocator
from storage.bulk.sinks import UPDATE_FORM
from storage.bulk.tree import Tree
from storage.bulk.values import BulkProblem, KeyFacts, KeyInfo, problem_of, reason_problem
from storage.errors import FormNotEditableError
from storage.form_status import next_status
from storage.models import FormStatus, TransactionType
from storage.subjects import SubjectRef

_STATUS = TransactionType.STATUS.value


class FormRows:
    """Claims events, forms and item groups of a subject in the writer's buffers."""

    study: str
    source: str
    reason: str | None
    user: str
    role: str
    user_id: int
    _stamp: Any
    _rows: dict[str, list[Any]]
    _ids: dict[str, IdAllocator]
    _updates: dict[str, list[tuple[Any, ...]]]
    _facts: KeyFacts
    problems: list[BulkProblem]

    def _prefix(
        self, ref: SubjectRef, tree: Tree, form: FormKey, prefixes: dict[FormKey, tuple[Any, ...]]
    ) -> tuple[Any, ...]:
        """The audit columns up to the item group of a form's rows, its version claimed."""
        version = self._claim_form(ref, tree, form)
        prefixes[form] = (
            *self._who(ref),
            version,
            form.study_event_oid,
            form.study_event_repeat_key,
            form.form_oid,
            form.form_repeat_key,
        )
        return prefixes[form]

    def _claim_form(self, ref: SubjectRef, tree: Tree, form: FormKey) -> int:
        """The next version of ``form``, creating its event and form rows when new."""
        found = tree.forms.get(form)
        if found is not None:
            form_id, status, version = found
            path = f"{form.study_event_oid}/{form.form_oid} of subject {ref.subject_key}"
            try:  # the one table of status moves (storage.form_status)
                new_status = next_status(FormStatus(status), "import", changed=True, form=path)
            except FormNotEditableError as refused:
                new_status = FormStatus(status)
                self.problems.append(
                    BulkProblem(ref.subject_key, "locked", "status", None, "hard", str(refused))
                )
            if version > 0 and not self.reason:
                self.problems.append(reason_problem(ref.subject_key, form))
            self._updates[UPDATE_FORM].append(
                (version + 1, new_status.value, self.user, self._stamp, form_id, version)
            )
            tree.forms[form] = (form_id, new_status.value, version + 1)
            self._status_row(ref, form, status, new_status.value, version + 1)
            return version + 1
        event = (form.study_event_oid, form.study_event_repeat_key)
        event_id = tree.events.get(event)
        if event_id is None:
            event_id = tree.events[event] = self._ids["study_events"].take()
            self._rows["study_events"] += (event_id, ref.id, *event)
        form_id = self._ids["forms"].take()
        self._rows["forms"] += (
            form_id,
            event_id,
            form.form_oid,
            form.form_repeat_key,
            FormStatus.IN_PROGRESS.value,
            1,
            self._stamp,
            self.user,
        )
        tree.forms[form] = (form_id, FormStatus.IN_PROGRESS.value, 1)
        self._status_row(ref, form, FormStatus.NOT_STARTED.value, FormStatus.IN_PROGRESS.value, 1)
        return 1

    def _who(self, ref: SubjectRef) -> tuple[Any, ...]:
        """The first columns of an audit row (``storage.audit.WHO_COLUMNS``)."""
        return (
            self._stamp,
            self.user_id,
            self.user,
            self.role,
            ref.site_oid,
            self.study,
            ref.id,
            ref.subject_key,
            self.reason,
            self.source,
        )

    def _status_row(self, ref: SubjectRef, form: FormKey, old: str, new: str, version: int) -> None:
        """A form-level audit row for a status change, as ``save_form`` writes it."""
        if old != new:
            self._rows["audit_trail"] += (
                *self._who(ref),
                version,
                *form,
                "",
                "",
                "",
                _STATUS,
                old,
                new,
                None,
                None,
            )

    def _group_id(self, tree: Tree, group: GroupKey, info: KeyInfo, subject_key: str) -> int:
        gid = tree.groups.get(group)
        if gid is None:
            if info[7][0] in self._facts.single_groups:  # a second instance? (issue 14)
                other = GroupKey(*group[:-1], "1" if group[-1] == "" else "")
                if other in tree.groups:
                    problem = second_instance_problem(info[1], other[-1])
                    self.problems.append(problem_of(subject_key, problem))
            gid = tree.groups[group] = self._ids["item_groups"].take()
            form_id = tree.forms[info[3]][0]
            self._rows["item_groups"] += (gid, form_id, info[7][0], info[7][1])
        return gid
