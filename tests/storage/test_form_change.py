"""The one preamble of every form change: open_form_for_change (issue 15).

Save, status changes and signing all open the form through it, so one test per refusal
covers every path: an unknown subject, a role the move does not allow, a stale version, a
status the move cannot start from; and a form never saved opens at version 0.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine

from storage.audit import AuditContext
from storage.engine import write_transaction
from storage.errors import AccessDeniedError, ConflictError, FormNotEditableError, NotFoundError
from storage.form_status import TRANSITIONS, FormChange, open_form_for_change
from storage.models import FormStatus, Role
from tests.storage.conftest import INVESTIGATOR, MANAGER, MONITOR
from tests.storage.helpers import DM, save


def _open(
    engine: Engine, move: str, user: str, role: Role, version: int, **kw: object
) -> FormChange:
    with write_transaction(engine) as conn:
        return open_form_for_change(
            conn,
            study="S.1",
            subject_key=str(kw.pop("subject", "001")),
            form=DM,
            move=move,
            user=user,
            role=role,
            expected_version=version,
            **kw,  # type: ignore[arg-type]
        )


def _saved(engine: Engine) -> None:
    save(engine, {("IG.DM", "", "IT.AGE"): "42", ("IG.DM", "", "IT.SEX"): "F"})


def test_a_form_never_saved_opens_at_version_0_unless_the_caller_needs_data(
    study: Engine,
) -> None:
    change = _open(study, "save", INVESTIGATOR, Role.INVESTIGATOR, 0)
    assert (change.form_id, change.status, change.version) == (None, FormStatus.NOT_STARTED, 0)
    assert change.path == "SE.SCREEN/F.DM"
    with pytest.raises(NotFoundError, match="no data yet"):
        _open(
            study,
            "save",
            INVESTIGATOR,
            Role.INVESTIGATOR,
            0,
            missing=lambda: NotFoundError("no data yet"),
        )


def test_every_refusal_of_the_preamble(study: Engine) -> None:
    _saved(study)
    change = _open(study, "verify", MONITOR, Role.MONITOR, 1)
    assert change.form_id is not None and change.status is FormStatus.IN_PROGRESS
    with pytest.raises(NotFoundError):
        _open(study, "verify", MONITOR, Role.MONITOR, 1, subject="999")
    with pytest.raises(AccessDeniedError):
        _open(study, "verify", INVESTIGATOR, Role.INVESTIGATOR, 1)
    with pytest.raises(ConflictError) as stale:
        _open(study, "verify", MONITOR, Role.MONITOR, 0, explain=True)
    assert [c.item_path for c in stale.value.changes][-1].endswith("IT.SEX")
    with pytest.raises(FormNotEditableError, match="in_progress; it cannot be unlocked"):
        _open(study, "unlock", MANAGER, Role.DATA_MANAGER, 1)


@pytest.mark.parametrize("move", sorted(TRANSITIONS))
def test_every_move_checks_its_own_roles(study: Engine, move: str) -> None:
    """A role outside the move's table entry is refused before the form is read."""
    outsider = next(
        r for r in (Role.MONITOR, Role.INVESTIGATOR) if r not in TRANSITIONS[move].roles
    )
    user = MONITOR if outsider is Role.MONITOR else INVESTIGATOR
    with pytest.raises(AccessDeniedError):
        _open(study, move, user, outsider, 0)


def test_the_audit_context_is_the_actor_on_the_subject(study: Engine) -> None:
    change = _open(study, "save", INVESTIGATOR, Role.INVESTIGATOR, 0)
    now = datetime.now(UTC)
    ctx = change.audit(
        user=INVESTIGATOR, role=Role.INVESTIGATOR, reason=None, source="web", now=now
    )
    assert isinstance(ctx, AuditContext)
    assert (ctx.username, ctx.role, ctx.study_oid, ctx.site_oid, ctx.subject_key) == (
        INVESTIGATOR,
        "investigator",
        "S.1",
        "SITE.1",
        "001",
    )
    assert ctx.who()[:4] == (now, change.user_id, INVESTIGATOR, "investigator")
