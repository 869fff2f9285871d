"""The signed-in user's own account: change the password (current password, new one twice).

After an administrator's reset this is the only page that opens (``app._password_gate``)
until the user has set a password of their own.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, g, redirect, request, url_for
from werkzeug.wrappers.response import Response

from storage.accounts import change_password
from storage.errors import PolicyError
from storage.passwords import MIN_LENGTH
from webapp.pages import render
from webapp.runtime import writing

bp = Blueprint("account", __name__)


@dataclass(frozen=True, slots=True)
class PasswordPage:
    must_change: bool
    """An administrator reset the password: say why this page is the only one open."""
    error: str
    notice: str
    min_length: int = MIN_LENGTH


def policy_message(exc: PolicyError) -> str:
    """The refusal in the user's language."""
    return str(g.t(f"policy.{exc.code}", **exc.params))


@bp.get("/account/password")
def password() -> tuple[str, int]:
    notice = g.t("account.changed") if request.args.get("done") else ""
    return render("password.html", PasswordPage(g.viewer.must_change_password, "", notice))


@bp.post("/account/password")
def password_post() -> tuple[str, int] | Response:
    viewer = g.viewer
    current = request.form.get("current", "")
    new, again = request.form.get("new", ""), request.form.get("again", "")
    try:
        if new != again:
            raise ValueError(g.t("account.mismatch"))
        with writing() as conn:
            change_password(
                conn,
                viewer.username,
                current,
                new,
                keep_session=viewer.session_hash,
                client=request.remote_addr,
            )
    except PolicyError as exc:
        page = PasswordPage(viewer.must_change_password, policy_message(exc), "")
        return render("password.html", page, 422)
    except ValueError as exc:
        page = PasswordPage(viewer.must_change_password, str(exc), "")
        return render("password.html", page, 422)
    return redirect(url_for(".password", done=1), 303)
