"""A designer's live preview of one ODM file: ``edc preview metadata/STUDY.xml``.

``create_app(path)`` is a small Flask app with no database and no sign-in: the index lists
the study's events and forms and every finding of the file; each form is rendered exactly as
sites see it (the app's ``FormRenderer`` and check plan, the same scripts from
``/static/form/``) with the findings next to the elements they concern, each linked to its
line in ``/source``; ``?lang=`` switches between the xml:lang values the study uses; a POST of
the form ("try it") runs the real edit checks, skip logic and derivations and writes
nothing (:mod:`webapp.preview.tryit`).

Live: every page polls ``/_state`` (the SHA-256 of the file now, about every 300 ms) and
loads itself again when it changed. The file is read again when its mtime or size changes
and parsed, checked, compiled and rendered once per SHA-256 (:mod:`webapp.preview.state`).

Speed (``python -m bench preview``, row ``preview.rerender_after_save``): from the write of
a changed bortezomib study (metadata/, 173 kB, 12 forms) to ``/_state`` answering its new
SHA-256, by which time the load, every finding (XSD, rules, expressions), the compiled plan
and all 12 forms in both languages of the study (en, de) are done: 0.08 to 0.19 s (median of
7 saves, runs on the shared 2-core development machine; target < 0.5 s), against 0.001 s for
a bare lxml parse of the same bytes (the baseline, same run).
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from webapp.preview.state import Snapshot, WatchedFile

__all__ = ["Snapshot", "WatchedFile", "create_app"]

WEBAPP = Path(__file__).resolve().parents[1]


def create_app(path: Path, *, lang: str | None = None) -> Flask:
    """The preview of the ODM file at ``path``; ``lang``: the language pages open in."""
    from webapp.preview import views  # noqa: PLC0415 (the views need the app's names)

    app = Flask(
        "webapp.preview",
        template_folder=str(WEBAPP / "templates"),
        static_folder=str(WEBAPP / "static"),
    )
    app.extensions["edc_preview"] = WatchedFile(Path(path), lang=lang)
    app.config["MAX_CONTENT_LENGTH"] = 2 * 1024 * 1024
    app.register_blueprint(views.bp)
    return app
