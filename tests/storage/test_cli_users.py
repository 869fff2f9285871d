"""`edc user deactivate|activate|revoke|reset-password|passwd` and the password policy and
role rules on the command line (issue 14, findings 7 and 13). Exit 0 done, 2 refused."""

from __future__ import annotations

import re

from sqlalchemy import Engine, select

from storage.models import User
from storage.users import authenticate, get_user
from tests.storage.conftest import INVESTIGATOR, IVY_PASSWORD, MONITOR, Db
from tests.storage.test_cli import edc

NEW = "Plum-Kettle-Sparrow-9"


def test_deactivate_and_activate_a_user(db: Db, study: Engine) -> None:
    assert edc(db, "user", "deactivate", INVESTIGATOR) == (
        0,
        "ivy is deactivated: signed out everywhere, cannot sign in or act.\n",
    )
    assert edc(db, "user", "deactivate", INVESTIGATOR) == (0, "ivy is inactive already.\n")
    with study.connect() as conn:
        assert authenticate(conn, INVESTIGATOR, IVY_PASSWORD) is None
    code, out = edc(db, "user", "list")
    assert "(inactive)" in out
    assert edc(db, "user", "activate", INVESTIGATOR) == (0, "ivy is active again.\n")
    code, out = edc(db, "user", "log", "--user", INVESTIGATOR, "--limit", "2")
    assert [line.split()[1:3] for line in out.splitlines()] == [
        ["cli", "user_activated"],
        ["cli", "user_deactivated"],
    ]
    code, out = edc(db, "user", "deactivate", "nobody")
    assert code == 2 and "No user 'nobody'" in out and "Traceback" not in out


def test_revoke_a_role(db: Db, study: Engine) -> None:
    code, out = edc(db, "user", "revoke", INVESTIGATOR, "investigator", "--study", "S.1",
                    "--site", "SITE.1")  # fmt: skip
    assert (code, out) == (0, "ivy is no longer investigator in S.1 at SITE.1.\n")
    code, out = edc(db, "user", "revoke", INVESTIGATOR, "investigator", "--study", "S.1",
                    "--site", "SITE.1")  # fmt: skip
    assert code == 2
    assert out == ("Error: ivy does not hold investigator in S.1 at SITE.1; nothing was revoked.\n")
    assert edc(db, "user", "revoke", MONITOR, "monitor", "--study", "S.1")[0] == 0
    with study.connect() as conn:
        assert get_user(conn, MONITOR).roles == ()


def test_reset_password_prints_a_one_time_password_once(db: Db, study: Engine) -> None:
    code, out = edc(db, "user", "reset-password", INVESTIGATOR)
    assert code == 0
    once = re.search(r"One-time password for ivy: (\S+)\n", out).group(1)
    assert "must choose a new password at the next sign-in" in out
    with study.connect() as conn:
        assert authenticate(conn, INVESTIGATOR, once) is not None
        assert authenticate(conn, INVESTIGATOR, IVY_PASSWORD) is None
        assert conn.scalar(select(User.must_change_password).where(User.username == "ivy"))
    code, out = edc(db, "user", "log", "--user", INVESTIGATOR, "--limit", "1")
    assert out.split()[1:3] == ["cli", "password_reset"] and once not in out


def test_passwd_sets_a_password_under_the_policy(db: Db, study: Engine) -> None:
    code, out = edc(db, "user", "passwd", MONITOR, input="short\nshort\n")
    assert (code, out.splitlines()[-1]) == (
        2,
        "Error: The password is too short: use at least 12 characters.",
    )
    code, out = edc(db, "user", "passwd", MONITOR, input=f"{NEW}\n{NEW}\n")
    assert code == 0 and out.endswith("Password of mona changed; mona is signed out everywhere.\n")
    with study.connect() as conn:
        assert authenticate(conn, MONITOR, NEW) is not None


def test_user_add_applies_the_policy(db: Db, study: Engine) -> None:
    code, out = edc(db, "user", "add", "paula", "--password", "paula-2026-pass")
    assert (code, out) == (2, "Error: The password must not be or contain the user name.\n")
    code, out = edc(db, "user", "add", "paula", "--password", "Password1234")
    assert code == 2 and "commonly used passwords" in out
    assert edc(db, "user", "add", "paula", "--password", NEW)[0] == 0


def test_set_role_refuses_admin_with_clinical_roles_and_site_scoped_study_roles(
    db: Db, study: Engine
) -> None:
    """Finding 13 from the command line; designer and admin only study-wide."""
    assert edc(db, "user", "add", "adele", "--password", NEW)[0] == 0
    assert edc(db, "user", "set-role", "adele", "admin", "--study", "S.1")[0] == 0
    code, out = edc(db, "user", "set-role", "adele", "investigator", "--study", "S.1")
    assert code == 2 and out.startswith("Error: adele is an administrator: administrators")
    code, out = edc(db, "user", "set-role", INVESTIGATOR, "admin", "--study", "S.1")
    assert code == 2 and out.startswith("Error: ivy holds other roles (investigator)")
    code, out = edc(db, "user", "set-role", MONITOR, "study_designer", "--study", "S.1",
                    "--site", "SITE.1")  # fmt: skip
    assert (code, out) == (
        2,
        "Error: The role study_designer acts on the whole study: grant it at every site, "
        "not at SITE.1.\n",
    )


def test_the_role_choice_names_every_role() -> None:
    """`edc user set-role|revoke` offer exactly the storage roles, in their order (the CLI
    lists them itself so that `--help` imports no storage)."""
    from cli.admin import ROLES
    from storage.vocabulary import Role

    assert ROLES == [r.value for r in Role]


def test_the_access_log_columns_line_up_for_every_event(db: Db, study: Engine) -> None:
    """The longest event names (user_deactivated, signature_failed) do not push the user
    name and the grant out of their columns."""
    edc(db, "user", "deactivate", INVESTIGATOR)
    edc(db, "user", "activate", INVESTIGATOR)
    code, out = edc(db, "user", "log")
    lines = out.splitlines()
    assert code == 0 and {line.split()[2] for line in lines} >= {"user_deactivated", "role_granted"}
    for column in (3, 4):  # the user name, the grant
        starts = {re.match(rf"(\S+\s+){{{column}}}", line).end() for line in lines}
        assert len(starts) == 1, (column, out)
