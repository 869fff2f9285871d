"""The web app's settings: one table of (name, default, help), read from flags and EDC_* env.

``Settings.load(environ, overrides)`` takes each name from ``overrides`` (CLI flags, tests),
else from ``EDC_<NAME>`` in the environment, else the default; the type is the default's.
Settings are passed to ``create_app`` explicitly; nothing reads them from a global.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Setting:
    name: str
    default: str | int | bool
    help: str

    @property
    def env(self) -> str:
        return "EDC_" + self.name.upper()


SETTINGS: tuple[Setting, ...] = (
    Setting("database_url", "sqlite:///edc.sqlite3", "Database URL (SQLite file or PostgreSQL)."),
    Setting(
        "secret_key",
        "",
        "Key that signs session cookies; empty: made once and kept in the database, so every "
        "worker and host on that database shares it.",
    ),
    Setting("study", "", "Study OID served; empty: the only study in the database."),
    Setting("session_idle_minutes", 30, "A session ends after this many idle minutes."),
    Setting("session_max_hours", 12, "A session ends this many hours after sign-in."),
    Setting(
        "login_max_failures",
        5,
        "Failed sign-ins (and signature passwords) of a user name from one client address "
        "before that user's sign-in from that address is paused.",
    ),
    Setting(
        "login_max_failures_user",
        50,
        "Failed sign-ins of a user name from all addresses together before its sign-in is "
        "paused everywhere (a ceiling on guessing one account from many addresses).",
    ),
    Setting(
        "login_max_failures_client",
        20,
        "Failed sign-ins from one client address for all user names together before sign-in "
        "from that address is paused (a ceiling on trying one password on many accounts).",
    ),
    Setting("login_window_minutes", 15, "Window in which failed sign-ins are counted."),
    Setting("cookie_secure", False, "Send the session cookie over HTTPS only."),
    Setting(
        "proxy_hops",
        0,
        "Proxies (load balancers) in front of the app that set X-Forwarded-For and "
        "X-Forwarded-Proto: 1 behind one. 0: the client address is the connection's (behind a "
        "balancer, that is the balancer's, and failed sign-ins of all users count as one client).",
    ),
    Setting("max_upload_mb", 20, "Largest metadata file a designer may upload."),
    Setting("host", "127.0.0.1", "Address `edc serve` listens on."),
    Setting("port", 8000, "Port `edc serve` listens on."),
    Setting("workers", 2, "gunicorn worker processes of `edc serve`."),
)


def _convert(setting: Setting, raw: Any) -> str | int | bool:
    if isinstance(setting.default, bool):
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
            raise ValueError(f"{setting.env}: {raw!r} is not a boolean (true/false).")
        return text in ("1", "true", "yes", "on")
    if isinstance(setting.default, int):
        try:
            number = int(raw)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{setting.env}: {raw!r} is not a whole number.") from exc
        if number < 0:  # no count, size, window or port here is negative
            raise ValueError(f"{setting.env}: {raw!r} is below 0.")
        return number
    return str(raw)


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str = "sqlite:///edc.sqlite3"
    secret_key: str = ""
    study: str = ""
    session_idle_minutes: int = 30
    session_max_hours: int = 12
    login_max_failures: int = 5
    login_max_failures_user: int = 50
    login_max_failures_client: int = 20
    login_window_minutes: int = 15
    cookie_secure: bool = False
    proxy_hops: int = 0
    max_upload_mb: int = 20
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 2

    @classmethod
    def load(
        cls,
        environ: Mapping[str, str] | None = None,
        overrides: Mapping[str, Any] | None = None,
    ) -> Settings:
        """Flags (``overrides``, None values ignored) over ``EDC_*`` variables over defaults."""
        env = os.environ if environ is None else environ
        given = {k: v for k, v in (overrides or {}).items() if v is not None}
        unknown = set(given) - {s.name for s in SETTINGS}
        if unknown:
            raise ValueError(f"unknown setting(s): {', '.join(sorted(unknown))}")
        values: dict[str, Any] = {}
        for s in SETTINGS:
            raw = given.get(s.name, env.get(s.env, s.default))
            values[s.name] = _convert(s, raw)
        return cls(**values)
