"""Account pages: registration, e-mail confirmation, login, logout, password reset, and
"my data" (the account page with notifications and contributions, export, deletion).

Routes are thin: the rules and the SQL are :mod:`civic.accounts`; the session is
:mod:`app.auth`. The blueprint keeps the name ``auth`` (``url_for("auth.login")`` etc.).
"""

from __future__ import annotations

import json
import logging
import smtplib

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext, ngettext
from werkzeug.routing import BuildError

from app.auth import (
    User,
    current_user,
    end_session,
    external_url,
    forget_user,
    login_required,
    password_hasher,
    start_session,
)
from app.errors import wants_api
from app.forms import field_error, form_error_response, form_or_json, safe_next, translated
from app.mail import send_mail
from app.mailqueue import defer
from app.moderation.content import content_url, list_notifications
from app.security import check_rate, client_ip, rate_limit, rotate_csrf
from civic import accounts, audit
from civic.accounts import Invalid

log = logging.getLogger(__name__)

bp = Blueprint("auth", __name__)


def _engine():
    return current_app.extensions["engine"]


# --- mail (after the response: app.mailqueue) ----------------------------------------------

_SLOT = "TOKEN-SLOT"  # a link is built in the request and its token filled in by the job


def _send(to: str, subject: str, body: str) -> bool:
    """Send, but never lose the account over a mail server that is down (resend exists)."""
    try:
        send_mail(to, subject, body)
    except (OSError, smtplib.SMTPException):
        log.exception("could not send mail %r", subject)
        return False
    return True


def _confirmation_job(user_id: int, link: str) -> None:
    with _engine().begin() as conn:
        user = accounts.get_user(conn, user_id)
        if user is None or user.confirmed:
            return
        token = accounts.issue_token(conn, user.id, "confirm", accounts.CONFIRM_TTL)
    body = gettext(
        "Dzień dobry %(name)s,\n\n"
        "aby potwierdzić adres e-mail w serwisie Civic Map Kraków, otwórz ten link "
        "(ważny 48 godzin):\n\n%(link)s\n\n"
        "Jeśli to nie Ty zakładałeś(-aś) konto, zignoruj tę wiadomość.",
        name=user.name,
        link=link.replace(_SLOT, token),
    )
    _send(user.email, gettext("Potwierdź adres e-mail — Civic Map Kraków"), body)


def _reset_job(email: str, link: str) -> None:
    with _engine().begin() as conn:
        found = accounts.find_user_by_email(conn, email)
        if not found:
            return
        user = found[0]
        token = accounts.issue_token(conn, user.id, "reset", accounts.RESET_TTL)
    body = gettext(
        "Dzień dobry %(name)s,\n\n"
        "ktoś (zapewne Ty) poprosił o nowe hasło w serwisie Civic Map Kraków. "
        "Aby je ustawić, otwórz ten link (ważny 1 godzinę):\n\n%(link)s\n\n"
        "Jeśli to nie Ty, zignoruj tę wiadomość: hasło się nie zmieni.",
        name=user.name,
        link=link.replace(_SLOT, token),
    )
    _send(user.email, gettext("Nowe hasło — Civic Map Kraków"), body)


def _taken_job(email: str, login_link: str, forgot_link: str) -> None:
    """Someone registered with an address that has an account: tell its owner (not them)."""
    with _engine().connect() as conn:
        found = accounts.find_user_by_email(conn, email)
    if not found:
        return
    user = found[0]
    body = gettext(
        "Dzień dobry %(name)s,\n\n"
        "ktoś próbował założyć konto w serwisie Civic Map Kraków z Twoim adresem e-mail. "
        "Masz już konto: nic nie zmieniliśmy.\n\n"
        "Jeśli to Ty, zaloguj się: %(login)s\n"
        "Nie pamiętasz hasła? Ustaw nowe: %(forgot)s\n\n"
        "Jeśli to nie Ty, zignoruj tę wiadomość.",
        name=user.name,
        login=login_link,
        forgot=forgot_link,
    )
    _send(user.email, gettext("Próba rejestracji z Twoim adresem — Civic Map Kraków"), body)


def send_confirmation(user: User) -> None:
    defer(_confirmation_job, user.id, external_url("auth.confirm", token=_SLOT))


def send_reset(email: str) -> None:
    defer(_reset_job, email, external_url("auth.reset", token=_SLOT))


# --- registration, confirmation, login, logout, password reset ----------------------------------


@bp.route("/register", methods=["GET", "POST"])
@rate_limit("register", limit=10, per=3600, key=client_ip)
def register():
    with _engine().connect() as conn:
        districts = accounts.district_choices(conn)
    if request.method == "GET":
        if current_user():
            return redirect(url_for("auth.account"))
        return render_template("auth/register.html", form={}, errors={}, districts=districts)
    form = form_or_json()
    try:
        with _engine().begin() as conn:
            email, user = accounts.register(conn, form, hasher=password_hasher())
    except Invalid as exc:
        return form_error_response(exc, "auth/register.html", form=form, districts=districts)
    # the address under attack (or flooded with mails), whatever the IP
    check_rate("register_account", limit=3, per=3600, key=email.lower())
    # the same answer whether or not the address had an account (issue 14.10): no session
    # yet — the account is used after logging in, confirmed or not
    if user is not None:
        send_confirmation(user)
    else:
        defer(_taken_job, email, external_url("auth.login"), external_url("auth.forgot"))
    if wants_api():
        return jsonify({"status": "confirmation_sent", "email": email}), 202
    flash(
        gettext(
            "Dziękujemy. Wysłaliśmy wiadomość na %(email)s — otwórz link z niej, aby "
            "potwierdzić adres, i zaloguj się. Do czasu potwierdzenia Twoje wpisy czekają na "
            "moderatora.",
            email=email,
        )
    )
    return redirect(url_for("auth.login"))


@bp.get("/confirm/<token>")
def confirm(token: str):
    with _engine().begin() as conn:
        user_id = accounts.confirm_email(conn, token)
    if user_id is None:
        return render_template("auth/confirm.html", ok=False), 404
    forget_user()
    return render_template("auth/confirm.html", ok=True)


@bp.post("/confirm/resend")
@login_required
@rate_limit("confirm_resend", limit=3, per=3600)
@rate_limit("confirm_resend_ip", limit=10, per=3600, key=client_ip)
def confirm_resend():
    user = current_user()
    assert user is not None
    if not user.confirmed:
        send_confirmation(user)
        flash(gettext("Wysłaliśmy nowy link potwierdzający na %(email)s.", email=user.email))
    return redirect(url_for("auth.account"))


@bp.route("/login", methods=["GET", "POST"])
@rate_limit("login", limit=5, per=60, key=client_ip)
def login():
    nxt = safe_next(request.values.get("next"), url_for("auth.account"))
    if request.method == "GET":
        return render_template("auth/login.html", form={}, errors={}, next=nxt)
    form = form_or_json()
    ctx = {"form": {"email": str(form.get("email") or "").strip()}, "next": nxt}
    try:
        email, password = accounts.check_login(form.get("email"), form.get("password"))
    except Invalid as exc:
        return form_error_response(exc, "auth/login.html", **ctx)
    # the account under attack, whatever the address it comes from
    check_rate("login_account", limit=10, per=600, key=email.lower())
    with _engine().begin() as conn:
        user = accounts.authenticate(conn, email, password, hasher=password_hasher())
        if user is None:
            exc = field_error(
                "password",
                "bad_credentials",
                gettext("Nieprawidłowy e-mail lub hasło (pole „Hasło”)."),
                status=401,
            )
            return form_error_response(exc, "auth/login.html", **ctx)
        start_session(conn, user.id)
    if wants_api():
        return jsonify({"id": user.id, "name": user.name})
    return redirect(nxt)


@bp.post("/logout")
def logout():
    end_session()
    rotate_csrf()
    if wants_api():
        return jsonify({"logged_out": True})
    flash(gettext("Wylogowano."))
    return redirect(url_for("pages.index"))


@bp.route("/password/forgot", methods=["GET", "POST"])
@rate_limit("password_forgot", limit=5, per=3600, key=client_ip)
def forgot():
    if request.method == "GET":
        return render_template("auth/forgot.html", form={}, errors={}, sent=False)
    form = form_or_json()
    try:
        email = accounts.validate_email(form.get("email"))
    except Invalid as exc:
        return form_error_response(exc, "auth/forgot.html", form=form, sent=False)
    check_rate("password_forgot_account", limit=3, per=3600, key=email.lower())
    # the lookup, the token and the mail run after the response (app.mailqueue): the same
    # answer in the same time whether or not the account exists (issue 14.10)
    send_reset(email)
    return render_template("auth/forgot.html", form={}, errors={}, sent=True)


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
@rate_limit("password_reset", limit=10, per=3600, key=client_ip)
def reset(token: str):
    with _engine().connect() as conn:
        user = accounts.user_of_token(conn, token, "reset")
    if user is None:
        return render_template("auth/reset.html", valid=False, errors={}), 404
    if request.method == "GET":
        return render_template("auth/reset.html", valid=True, errors={}, token=token)
    form = form_or_json()
    try:
        with _engine().begin() as conn:
            done = accounts.reset_password(
                conn, token, user, form.get("password"), hasher=password_hasher()
            )
    except Invalid as exc:
        return form_error_response(exc, "auth/reset.html", valid=True, token=token)
    if not done:
        return render_template("auth/reset.html", valid=False, errors={}), 404
    session.clear()
    flash(gettext("Hasło zmienione. Zaloguj się nowym hasłem."))
    return redirect(url_for("auth.login"))


# --- "my data": account page, notifications, export, deletion ------------------------------------


def _account_page(user: User, conn, errors: dict[str, str], status: int = 200):
    mine = [
        dict(c, url=content_url(c["kind"], c["id"])) for c in accounts.contributions(conn, user.id)
    ]
    notes = list_notifications(conn, user.id)
    unread = sum(1 for n in notes if not n["read"])
    try:
        all_contributions = url_for("proposals.contributions")
    except BuildError:
        all_contributions = None
    return render_template(
        "account/index.html",
        all_contributions=all_contributions,
        user=user,
        districts=accounts.district_choices(conn),
        errors=errors,
        contributions=mine,
        notifications=notes,
        unread=unread,
        unread_label=ngettext("%(num)d nowe powiadomienie", "%(num)d nowych powiadomień", unread),
    ), status


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account():
    user = current_user()
    assert user is not None
    if request.method == "GET":
        with _engine().connect() as conn:
            return _account_page(user, conn, {})
    form = form_or_json()
    try:
        with _engine().begin() as conn:
            accounts.update_profile(conn, user.id, form)
    except Invalid as exc:
        if wants_api():
            return form_error_response(exc, "account/index.html")
        with _engine().connect() as conn:
            return _account_page(user, conn, translated(exc).messages(), 400)
    flash(gettext("Zapisano zmiany."))
    return redirect(url_for("auth.account"))


@bp.post("/account/notifications/read")
@login_required
def notifications_read():
    user = current_user()
    assert user is not None
    with _engine().begin() as conn:
        audit.mark_read(conn, user.id)
    if wants_api():
        return jsonify({"read": True})
    return redirect(url_for("auth.account") + "#notifications")


@bp.get("/account/export")
@login_required
def export():
    user = current_user()
    assert user is not None
    with _engine().connect() as conn:
        data = accounts.export_user_data(conn, user.id)
    return Response(
        json.dumps(data, ensure_ascii=False, indent=2, default=str),
        mimetype="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="civicmap-data-{user.id}.json"',
            "Cache-Control": "no-store",
        },
    )


@bp.route("/account/delete", methods=["GET", "POST"])
@login_required
@rate_limit("account_delete", limit=5, per=3600)
def delete():
    user = current_user()
    assert user is not None
    if request.method == "GET":
        return render_template("account/delete.html", errors={})
    form = form_or_json()
    try:
        with _engine().begin() as conn:
            accounts.close_account(conn, user.id, form.get("password"), hasher=password_hasher())
    except Invalid as exc:
        return form_error_response(exc, "account/delete.html")
    session.clear()
    forget_user()
    if wants_api():
        return jsonify({"deleted": True})
    flash(gettext("Konto usunięte. Twoje publiczne wpisy zostały bez imienia autora."))
    return redirect(url_for("pages.index"))
