"""Role sets are defined once, in storage.vocabulary: storage checks them, the web offers by
them (issue 15: they were written out in webapp/access.py and storage/users.py)."""

from __future__ import annotations

import re

from storage import form_status, users, vocabulary
from tests.conftest import REPO
from webapp import access

ROLE_SET = re.compile(r"frozenset\(\s*[{(\[]\s*Role\.")


def test_no_module_but_the_vocabulary_writes_out_a_role_set() -> None:
    offenders = [
        str(path.relative_to(REPO))
        for package in ("cli", "services", "storage", "webapp")
        for path in (REPO / package).rglob("*.py")
        if path != REPO / "storage" / "vocabulary.py"
        and ROLE_SET.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_the_web_and_the_store_check_the_same_role_sets() -> None:
    assert access.ENTER is vocabulary.ENTER is users.WRITE_ROLES
    assert access.SIGN is vocabulary.SIGN is users.SIGN_ROLES
    assert access.VERIFY is form_status.TRANSITIONS["verify"].roles
    assert access.LOCK is form_status.TRANSITIONS["lock"].roles
    assert form_status.TRANSITIONS["unlock"].roles is vocabulary.LOCK
    assert users.STUDY_WIDE_ROLES == access.DESIGN | access.ADMIN
