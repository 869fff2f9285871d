"""Access can be taken away: deactivation, revocation, password change and reset, the
password policy, study-wide roles granted only study-wide, and administrators who hold no
clinical role (issue 14, findings 7 and 13). Every change is in the access log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, insert, select

from storage.accounts import (
    activate_user,
    change_password,
    deactivate_user,
    reset_password,
    revoke_role,
    set_password,
)
from storage.engine import write_transaction
from storage.errors import AccessDeniedError, NotFoundError, PolicyError
from storage.models import Role, User, WebSession
from storage.passwords import COMMON, MIN_LENGTH, check_password_policy, one_time_password
from storage.users import access_log, add_user, authenticate, get_user, set_role
from tests.storage.conftest import INVESTIGATOR, IVY_PASSWORD, MANAGER, MONITOR
from tests.storage.helpers import save


def open_session(engine: Engine, username: str, token: str) -> None:
    """A web session row for ``username`` (what webapp.sessions.sign_in writes)."""
    now = datetime.now(UTC)
    with write_transaction(engine) as conn:
        user_id = get_user(conn, username).id
        conn.execute(
            insert(WebSession).values(
                token_sha256=token,
                user_id=user_id,
                created_at=now,
                last_seen_at=now,
                expires_at=now + timedelta(hours=1),
            )
        )


def sessions_of(engine: Engine, username: str) -> list[str]:
    with engine.connect() as conn:
        user_id = get_user(conn, username).id
        return sorted(
            conn.scalars(select(WebSession.token_sha256).where(WebSession.user_id == user_id))
        )


def events(engine: Engine, username: str) -> list[tuple[str, str, str | None]]:
    with engine.connect() as conn:
        return [(e.actor, e.event.value, e.role) for e in access_log(conn, username=username)]


def test_deactivation_ends_sessions_and_refuses_sign_in_and_saves_until_reactivated(
    study: Engine,
) -> None:
    open_session(study, INVESTIGATOR, "a" * 64)
    open_session(study, MONITOR, "b" * 64)
    with write_transaction(study) as conn:
        assert deactivate_user(conn, INVESTIGATOR, by="admin1") is True
        assert deactivate_user(conn, INVESTIGATOR, by="admin1") is False  # already: no row
    assert sessions_of(study, INVESTIGATOR) == []
    assert sessions_of(study, MONITOR) == ["b" * 64]  # nobody else's
    with study.connect() as conn:
        assert authenticate(conn, INVESTIGATOR, IVY_PASSWORD) is None
        assert get_user(conn, INVESTIGATOR).active is False
    with pytest.raises(AccessDeniedError, match="No active user 'ivy'"):
        save(study, {"IG.DM[].IT.AGE": "40", "IG.DM[].IT.SEX": "F"})
    with write_transaction(study) as conn:
        assert activate_user(conn, INVESTIGATOR, by="admin2") is True
        assert authenticate(conn, INVESTIGATOR, IVY_PASSWORD) is not None
    assert events(study, INVESTIGATOR)[:2] == [
        ("admin2", "user_activated", None),
        ("admin1", "user_deactivated", None),
    ]


def test_nobody_deactivates_their_own_account(study: Engine) -> None:
    with pytest.raises(PolicyError, match="your own account") as raised:
        with write_transaction(study) as conn:
            deactivate_user(conn, MANAGER, by=MANAGER)
    assert raised.value.code == "own_account"
    with pytest.raises(NotFoundError, match="No user 'nobody'"):
        with write_transaction(study) as conn:
            deactivate_user(conn, "nobody", by="admin1")


def test_revoking_a_role_removes_it_and_is_logged(study: Engine) -> None:
    with write_transaction(study) as conn:
        revoke_role(conn, INVESTIGATOR, "S.1", Role.INVESTIGATOR, site_oid="SITE.1", by="adm")
        assert get_user(conn, INVESTIGATOR).roles == ()
    assert events(study, INVESTIGATOR)[0] == ("adm", "role_revoked", "investigator")
    with study.connect() as conn:
        log = access_log(conn, username=INVESTIGATOR)[0]
    assert (log.study_oid, log.site_oid) == ("S.1", "SITE.1")
    with pytest.raises(PolicyError, match=r"does not hold investigator in S\.1 at SITE\.1"):
        with write_transaction(study) as conn:
            revoke_role(conn, INVESTIGATOR, "S.1", "investigator", site_oid="SITE.1", by="adm")
    with write_transaction(study) as conn:  # study-wide
        revoke_role(conn, MONITOR, "S.1", "monitor", by="adm")
        assert get_user(conn, MONITOR).roles == ()


def test_changing_ones_own_password_checks_the_current_one_and_keeps_this_session(
    study: Engine,
) -> None:
    open_session(study, INVESTIGATOR, "a" * 64)
    open_session(study, INVESTIGATOR, "c" * 64)
    new = "Plum-Kettle-Sparrow-9"
    with pytest.raises(PolicyError, match="current password is wrong") as raised:
        with write_transaction(study) as conn:
            change_password(conn, INVESTIGATOR, "wrong", new)
    assert raised.value.code == "wrong_current"
    with pytest.raises(PolicyError, match="differ from the current"):
        with write_transaction(study) as conn:
            change_password(conn, INVESTIGATOR, IVY_PASSWORD, IVY_PASSWORD)
    with pytest.raises(PolicyError, match="at least 12 characters"):
        with write_transaction(study) as conn:
            change_password(conn, INVESTIGATOR, IVY_PASSWORD, "short")
    with write_transaction(study) as conn:
        change_password(conn, INVESTIGATOR, IVY_PASSWORD, new, keep_session="a" * 64)
        assert authenticate(conn, INVESTIGATOR, IVY_PASSWORD) is None
        assert authenticate(conn, INVESTIGATOR, new) is not None
        row = conn.execute(select(User).where(User.username == INVESTIGATOR)).one()
    assert row.password_changed_at is not None and row.must_change_password is False
    assert sessions_of(study, INVESTIGATOR) == ["a" * 64]
    assert events(study, INVESTIGATOR)[0] == (INVESTIGATOR, "password_changed", None)


def test_a_reset_gives_a_strong_one_time_password_ends_sessions_and_forces_a_change(
    study: Engine,
) -> None:
    open_session(study, INVESTIGATOR, "a" * 64)
    with write_transaction(study) as conn:
        once = reset_password(conn, INVESTIGATOR, by="admin1")
    check_password_policy(INVESTIGATOR, once)
    assert sessions_of(study, INVESTIGATOR) == []
    with study.connect() as conn:
        assert authenticate(conn, INVESTIGATOR, IVY_PASSWORD) is None
        assert authenticate(conn, INVESTIGATOR, once) is not None
        assert conn.scalar(select(User.must_change_password).where(User.username == INVESTIGATOR))
        hashes = conn.scalars(select(User.password_hash)).all()
    assert all(once not in h for h in hashes)
    assert events(study, INVESTIGATOR)[0] == ("admin1", "password_reset", None)
    with write_transaction(study) as conn:
        change_password(conn, INVESTIGATOR, once, "Plum-Kettle-Sparrow-9")
        assert not conn.scalar(
            select(User.must_change_password).where(User.username == INVESTIGATOR)
        )


def test_an_operator_sets_a_password_under_the_policy(study: Engine) -> None:
    open_session(study, MONITOR, "b" * 64)
    with pytest.raises(PolicyError, match="contain the user name"):
        with write_transaction(study) as conn:
            set_password(conn, MONITOR, "MONA-is-my-name-1", by="cli")
    with write_transaction(study) as conn:
        set_password(conn, MONITOR, "Plum-Kettle-Sparrow-9", by="cli")
        assert authenticate(conn, MONITOR, "Plum-Kettle-Sparrow-9") is not None
    assert sessions_of(study, MONITOR) == []
    assert events(study, MONITOR)[0] == ("cli", "password_changed", None)


@pytest.mark.parametrize(
    ("password", "code"),
    [
        ("x" * (MIN_LENGTH - 1), "too_short"),
        ("beatrice", "too_short"),
        ("Beatrice-2026-xyz", "contains_username"),
        ("BEATRICE", "too_short"),
        ("Password1234", "common"),
        ("Correct Horse Battery Staple", "common"),
        ("qwertzuiop123", "common"),
    ],
)
def test_the_password_policy_refuses_short_named_and_common_passwords(
    password: str, code: str
) -> None:
    with pytest.raises(PolicyError) as raised:
        check_password_policy("beatrice", password)
    assert raised.value.code == code
    check_password_policy("dm", "long-dm-phrase-42")  # names under 3 letters: compared whole only
    assert all(p == p.casefold() for p in COMMON) and 100 <= len(COMMON) <= 300
    for _ in range(50):
        check_password_policy("beatrice", one_time_password("beatrice"))


def test_adding_a_user_applies_the_policy(study: Engine) -> None:
    for weak in ("pw", "bertha-secret-1", "administrator123"):
        with pytest.raises(PolicyError):
            with write_transaction(study) as conn:
                add_user(conn, "bertha", weak)
    with study.connect() as conn:
        assert conn.scalar(select(func.count()).where(User.username == "bertha")) == 0


def test_designer_and_admin_roles_are_granted_study_wide_only(study: Engine) -> None:
    """A designer's or administrator's rights act on the whole study, so a grant at one site
    would act study-wide: refused, with the reason."""
    with write_transaction(study) as conn:
        add_user(conn, "desi", "Plum-Kettle-Sparrow-9")
        add_user(conn, "adele", "Plum-Kettle-Sparrow-9")
    for user, role in (("desi", Role.STUDY_DESIGNER), ("adele", Role.ADMIN)):
        with pytest.raises(PolicyError, match=f"{role.value} acts on the whole study") as r:
            with write_transaction(study) as conn:
                set_role(conn, user, "S.1", role, site_oid="SITE.1")
        assert r.value.code == "site_scoped_role"
    with write_transaction(study) as conn:
        set_role(conn, "desi", "S.1", Role.STUDY_DESIGNER)
        set_role(conn, "adele", "S.1", Role.ADMIN)
        assert [g.role for g in get_user(conn, "adele").roles] == [Role.ADMIN]


@pytest.mark.parametrize("role", ["investigator", "monitor", "data_manager", "study_designer"])
def test_an_administrator_holds_no_clinical_role_and_a_clinical_user_is_no_admin(
    study: Engine, role: str
) -> None:
    """Finding 13: an administrator granting itself a clinical role could enter and sign
    data. Refused in storage, so the web app and the CLI both refuse."""
    with write_transaction(study) as conn:
        add_user(conn, "adele", "Plum-Kettle-Sparrow-9")
        set_role(conn, "adele", "S.1", Role.ADMIN)
        add_user(conn, "carl", "Plum-Kettle-Sparrow-9")
        set_role(conn, "carl", "S.1", role, site_oid=None)
    for site in (None, "SITE.1") if role != "study_designer" else (None,):
        with pytest.raises(PolicyError, match="adele is an administrator") as raised:
            with write_transaction(study) as conn:
                set_role(conn, "adele", "S.1", role, site_oid=site, by="adele")
        assert raised.value.code == "admin_only"
    with pytest.raises(PolicyError, match="carl holds other roles") as raised:
        with write_transaction(study) as conn:
            set_role(conn, "carl", "S.1", Role.ADMIN, by="adele")
    assert raised.value.code == "admin_not_clinical"
    with study.connect() as conn:
        assert [g.role.value for g in get_user(conn, "adele").roles] == ["admin"]
        assert [g.role.value for g in get_user(conn, "carl").roles] == [role]
