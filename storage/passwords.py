"""The password policy, applied wherever a password is set (adding a user, changing one's own
password, an operator setting one), and the one-time passwords of an administrator's reset.

A password must have at least :data:`MIN_LENGTH` characters, must not be or contain the user
name (case-insensitive; names of fewer than three characters are only compared whole), and
must not be one of the commonly used passwords of :data:`COMMON` (case-insensitive).
"""

from __future__ import annotations

import secrets

from storage.errors import PolicyError

MIN_LENGTH = 12
CONTAINED_NAME = 3
"""User names of at least this many characters may not appear inside a password."""

COMMON = frozenset(
    (
        *"""
    123456 123456789 12345678 12345 1234567 1234567890 111111 000000 123123 654321
    password password1 password12 password123 password1234 password12345 password123!
    passwordpassword p@ssw0rd p@ssword passw0rd passwort passwort1 passwort123 passwort1234
    qwerty qwerty123 qwerty1234 qwerty12345 qwerty123456 qwertyuiop qwertyuiop1
    qwertyuiop12 qwertyuiop123 qwertz qwertz123 qwertzuiop qwertzuiop12 qwertzuiop123
    asdfghjkl asdfghjkl12 asdfghjkl123 zxcvbnm zxcvbnm123 1q2w3e4r 1q2w3e4r5t 1q2w3e4r5t6y
    1qaz2wsx 1qaz2wsx3edc zaq12wsx zaq12wsxcde3 123qwe 123qweasd 123qweasdzxc qazwsxedc
    qazwsxedcrfv 123456789012 1234567890123 12345678901234 123456123456 123123123123
    111111111111 000000000000 121212121212 987654321 9876543210 987654321098 abc123
    abcd1234 abcdef abcdefgh abcdefghijkl abcd1234abcd abc123abc123 aaaaaaaaaaaa
    iloveyou iloveyou1 iloveyou123 iloveyou1234 iloveyouiloveyou letmein letmein1
    letmein123 letmein12345 letmeinletmein welcome welcome1 welcome123 welcome1234
    welcome12345 welcometothejungle changeme changeme1 changeme123 changeme1234
    changemenow123 admin admin123 admin1234 admin12345 administrator administrator1
    administrator123 root toor superuser monkey monkey123 monkey123456 dragon dragon123
    dragon123456 master master123 master123456 football football123 football1234
    baseball baseball123 baseball1234 superman superman123 superman1234 batman batman123
    batman123456 sunshine sunshine1 sunshine123 sunshine1234 princess princess1
    princess123 princess1234 shadow shadow123 whatever whatever123 whatever1234 trustno1
    trustno1trustno1 starwars starwars123 starwars1234 pokemon pokemon123 hello123
    hallo123 hallo1234567 hallohallo123 geheim geheim123 geheim123456 sommer2024
    sommer2025 sommer2026 winter2024 winter2025 winter2026 summer2024 summer2025
    summer2026 spring2025 autumn2025 january2025 january2026 freedom freedom123
    michael michael123 jennifer jordan23 liverpool chelsea arsenal1234 computer
    computer123 internet internet123 secret secret123 secret123456 topsecret
    topsecret123 mysecretpassword mypassword mypassword123 newpassword newpassword123
    test1234 test12345678 testtesttest testpassword testpassword123 temp1234
    temporary123 default default123 guest guest12345 login login123 login12345678
    access access123 access14 master1234567 lovelove1234 mustang mustang123 charlie
    charlie123 donald donald123 ginger whiskey trustme123 1234qwer 1234qwerasdf
    qwer1234qwer asdf1234asdf zxcv1234zxcv
    """.split(),
        "correct horse battery staple",
        "correcthorsebatterystaple",
        "the quick brown fox",
        "let me in please",
        "i love you forever",
    )
)
"""Commonly used passwords (public breach lists), compared case-insensitively. Those shorter
than MIN_LENGTH are here too, so a later shorter minimum keeps refusing them."""


def check_password_policy(username: str, password: str) -> None:
    """Raise :class:`PolicyError` unless ``password`` is acceptable for ``username``."""
    if len(password) < MIN_LENGTH:
        raise PolicyError(
            "too_short",
            f"The password is too short: use at least {MIN_LENGTH} characters.",
            n=str(MIN_LENGTH),
        )
    name, folded = username.strip().casefold(), password.casefold()
    if name and (folded == name or (len(name) >= CONTAINED_NAME and name in folded)):
        raise PolicyError("contains_username", "The password must not be or contain the user name.")
    if folded in COMMON or folded.strip() in COMMON:
        raise PolicyError(
            "common",
            "The password is on the list of commonly used passwords; choose another.",
        )


def one_time_password(username: str) -> str:
    """A random password for an administrator's reset (about 120 bits), never a weak one."""
    while True:
        password = secrets.token_urlsafe(15)
        try:
            check_password_policy(username, password)
        except PolicyError:
            continue
        return password
