"""The frame every page shares (``chrome``) and rendering a page with its typed context.

Templates get two objects: ``chrome`` (who is signed in, navigation, language, CSRF token,
the message catalogue) and ``page``, a small frozen dataclass made by the view. Templates
never see ORM rows or ODM model objects.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass

from flask import current_app, g, render_template, request, url_for

from storage.vocabulary import Role
from webapp import access
from webapp.i18n import Catalogue, catalogue
from webapp.security import csrf_token


@dataclass(frozen=True, slots=True)
class NavLink:
    label: str
    url: str
    current: bool


@dataclass(frozen=True, slots=True)
class Chrome:
    t: Catalogue
    lang: str
    languages: tuple[str, ...]
    csrf: str
    user: str
    """Display name of the signed-in user; "" when nobody is signed in."""
    roles: str
    study: str
    nav: tuple[NavLink, ...]
    path: str


def _nav(t: Catalogue) -> tuple[NavLink, ...]:
    viewer = getattr(g, "viewer", None)
    if viewer is None:
        return ()
    if getattr(g, "study", None) is None:  # the studies list, or no study loaded
        url = url_for("studies.index")
        return (NavLink(t("nav.studies"), url, request.path == url),)
    links: list[tuple[str, str]] = []
    if viewer.holds(access.CLINICAL):
        links += [
            (t("nav.sites"), url_for("subjects.sites")),
            (t("matrix.link"), url_for("matrix.study")),
            (t("nav.queries"), url_for("queries.index")),
        ]
    if viewer.holds(access.DASHBOARD):
        links.append((t("nav.dashboard"), url_for("dashboard.index")))
    if viewer.holds(access.EXPORT):
        links.append((t("nav.exports"), url_for("exports.index")))
    if viewer.holds_study_wide(access.MIGRATE):
        links.append((t("nav.versions"), url_for("versions.index")))
    if viewer.holds_study_wide(access.DESIGN):
        links.append((t("nav.design"), url_for("design.index")))
    if viewer.holds_study_wide(access.ADMIN):
        links.append((t("nav.users"), url_for("admin.users")))
    nav = [NavLink(label, url, request.path.startswith(url)) for label, url in links]
    if g.get("study_oid") or viewer.holds_study_wide(access.DESIGN | access.ADMIN):
        # a page under /studies/<OID>/, or someone who may create a study: the studies list
        nav.append(NavLink(t("nav.studies"), url_for("studies.index"), False))
    return tuple(nav)


def _roles(t: Catalogue) -> str:
    viewer = getattr(g, "viewer", None)
    if viewer is None:
        return ""
    parts = []
    for grant in viewer.grants:
        where = grant.site_oid.rsplit(".", 1)[-1] if grant.site_oid else t("all_sites")
        parts.append(f"{t('role.' + Role(grant.role).value)} ({where})")
    return ", ".join(parts)


def chrome(*, bare: bool = False) -> Chrome:
    """The frame of the current request's page (``bare``: no database, for error pages)."""
    lang = getattr(g, "lang", "en")
    t = catalogue(lang)
    viewer = None if bare else getattr(g, "viewer", None)
    study = getattr(g, "study", None)
    return Chrome(
        t=t,
        lang=lang,
        languages=getattr(g, "languages", ("en",)),
        csrf="" if bare else csrf_token(),
        user=(viewer.full_name or viewer.username) if viewer else "",
        roles="" if bare else _roles(t),
        study=study.name if study is not None and not bare else "",
        nav=() if bare else _nav(t),
        path=request.full_path.rstrip("?"),
    )


PAGE_MEMO = 128
"""Pages an app instance keeps, by template and the whole of their context (see render)."""


class _PageMemo:
    __slots__ = ("lock", "pages")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.pages: OrderedDict[Hashable, str] = OrderedDict()


def render(template: str, page: object, status: int = 200) -> tuple[str, int]:
    """``template`` rendered with the request's ``chrome`` and ``page``.

    A page is a pure function of its template, ``chrome`` and ``page`` (templates read
    nothing else but the static files' URLs, fixed per app and script root), and both are
    frozen dataclasses: the last :data:`PAGE_MEMO` pages are kept by that context, so a page
    asked for again with nothing changed (same user, data, messages, CSRF token) is not
    rendered again. A context that cannot be hashed is simply rendered.
    """
    frame = chrome()
    key = (template, request.script_root, frame, page)
    try:
        hash(key)
    except TypeError:
        return render_template(template, chrome=frame, page=page), status
    memo = current_app.extensions.get("edc_pages")
    if memo is None:
        memo = current_app.extensions.setdefault("edc_pages", _PageMemo())
    with memo.lock:
        found = memo.pages.get(key)
        if found is not None:
            memo.pages.move_to_end(key)
            return found, status
    html = render_template(template, chrome=frame, page=page)
    with memo.lock:
        memo.pages[key] = html
        while len(memo.pages) > PAGE_MEMO:
            memo.pages.popitem(last=False)
    return html, status
