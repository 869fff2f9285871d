"""Run the web app under gunicorn (``edc serve``): N sync workers, each building its own app.

Workers share nothing but the database: sessions, failed sign-ins, the signing secret and
form versions live there, so several hosts can serve one study behind a load balancer.
"""

from __future__ import annotations

import gc
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication

from webapp.settings import Settings


class _Gunicorn(BaseApplication):  # type: ignore[misc]
    def __init__(self, settings: Settings, options: dict[str, Any]) -> None:
        self.settings = settings
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        from webapp.app import create_app, warm_up  # noqa: PLC0415 (in each worker, after fork)

        app = create_app(self.settings)
        warm_up(app)
        # What the worker built to serve (the study's model, check plan, renderer, compiled
        # templates and statements) lives as long as the worker: move it out of the cyclic
        # garbage collector's generations, so no collection walks it again mid-request.
        gc.collect()
        gc.freeze()
        return app


def serve(settings: Settings, *, access_log: bool = False) -> None:
    """Serve until stopped (SIGTERM / Ctrl-C)."""
    options: dict[str, Any] = {
        "bind": f"{settings.host}:{settings.port}",
        "workers": settings.workers,
        "worker_class": "sync",
        "timeout": 60,
        "graceful_timeout": 10,
        "preload_app": False,
        "accesslog": "-" if access_log else None,
        "errorlog": "-",
        "proc_name": "edc-web",
        "control_socket_disable": True,  # no local files: workers share only the database
    }
    _Gunicorn(settings, options).run()
