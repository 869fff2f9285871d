"""The store's vocabulary: roles, statuses and events, and every set of roles a right needs.

Plain enums with no SQL, so the web app and the CLI can name a role or a status without
importing the schema (:mod:`storage.models` stores these values; an import-linter contract
keeps ``webapp`` away from the models). Every role set is defined here once: storage checks
them when it writes, the web app reads them to decide what to offer.
"""

from __future__ import annotations

from enum import StrEnum

MAX_REPEAT_KEY = 100
"""The longest repeat key the store keeps (the ``REPEAT_KEY`` column type of the models)."""


class Role(StrEnum):
    INVESTIGATOR = "investigator"
    MONITOR = "monitor"
    DATA_MANAGER = "data_manager"
    STUDY_DESIGNER = "study_designer"
    ADMIN = "admin"


class FormStatus(StrEnum):
    NOT_STARTED = "not_started"
    IN_PROGRESS = "in_progress"
    COMPLETE = "complete"
    VERIFIED = "verified"
    SIGNED = "signed"
    LOCKED = "locked"


class QueryStatus(StrEnum):
    OPEN = "open"
    ANSWERED = "answered"
    CLOSED = "closed"


class TransactionType(StrEnum):
    """ODM TransactionType of an item change, plus ``Status`` for form status changes."""

    INSERT = "Insert"
    UPDATE = "Update"
    REMOVE = "Remove"
    STATUS = "Status"


class AccessEvent(StrEnum):
    """What an access-log row records."""

    USER_ADDED = "user_added"
    ROLE_GRANTED = "role_granted"
    ROLE_REVOKED = "role_revoked"
    USER_DEACTIVATED = "user_deactivated"
    USER_ACTIVATED = "user_activated"
    PASSWORD_CHANGED = "password_changed"  # noqa: S105 - an event name, not a password
    PASSWORD_RESET = "password_reset"  # noqa: S105 - an event name, not a password
    SITE_ADDED = "site_added"
    SIGN_IN_FAILED = "sign_in_failed"
    SIGNATURE_FAILED = "signature_failed"


# Role sets: who may do what (storage enforces them on writes; the web offers by them).
CLINICAL = frozenset({Role.INVESTIGATOR, Role.MONITOR, Role.DATA_MANAGER})
"""Roles that read subjects and their casebooks."""
ENTER = frozenset({Role.INVESTIGATOR, Role.DATA_MANAGER})
"""Roles that add subjects and enter or change clinical data through ``save_form``."""
IMPORT = frozenset({Role.DATA_MANAGER, Role.ADMIN})
"""Roles that may import clinical data through the bulk path."""
RAISE_QUERY = frozenset({Role.MONITOR, Role.DATA_MANAGER})
CLOSE_QUERY = frozenset({Role.MONITOR, Role.DATA_MANAGER})
BULK_CLOSE = frozenset({Role.DATA_MANAGER})
"""Who may close many queries at once with one comment: data managers (a monitor closes
each on its own, next to the data)."""
ANSWER_QUERY = frozenset({Role.INVESTIGATOR, Role.DATA_MANAGER})
VERIFY = frozenset({Role.MONITOR})
DASHBOARD = frozenset({Role.MONITOR, Role.DATA_MANAGER})
"""Roles that see the dashboard (of the sites where they hold it): those who follow a study's
progress. Investigators follow their subjects on the site pages."""
LOCK = frozenset({Role.DATA_MANAGER})
EXPORT = frozenset({Role.DATA_MANAGER})
"""Roles that download exports (of the sites where they hold it; all sites when study-wide).
Administrators manage users and see no clinical data, so they do not export it either."""
SIGN = frozenset({Role.INVESTIGATOR})
MIGRATE = frozenset({Role.DATA_MANAGER})
"""Roles that move subjects to another metadata version (study-wide grants only)."""
DESIGN = frozenset({Role.STUDY_DESIGNER})
ADMIN = frozenset({Role.ADMIN})
STUDY_WIDE = DESIGN | ADMIN
"""Roles whose rights act on the whole study (its metadata, its users): granted study-wide
only, since a grant at one site would act at every site."""

SYSTEM_USER = "system"
"""Who closes a check's query when a later save makes the value pass: the system, never the
person who saved (``query_messages.username``; no account may be called this, see
``storage.users.add_user``)."""
SYSTEM_ROLE = "system"
"""The role of :data:`SYSTEM_USER`'s messages (``query_messages.role`` has no CHECK: people's
messages carry a :class:`Role`, the system's this)."""
