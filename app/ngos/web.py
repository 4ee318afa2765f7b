"""Web helpers of the NGO and local-initiative pages (app/ngos, app/initiatives): the request
body, domain errors as a 4xx naming the field, titles in the reader's language, mail."""

from __future__ import annotations

import logging
import smtplib
from typing import Any

from flask import abort, current_app, jsonify, render_template, request
from flask_babel import gettext

from app.errors import wants_api
from app.security import json_body
from civic.ngos.common import Invalid

log = logging.getLogger(__name__)


def N_(s: str) -> str:
    """Mark a msgid for extraction (translated when shown)."""
    return s


# Field names as people read them (the domain's messages name the field by these).
FIELD_LABELS = {
    "name": N_("Nazwa"),
    "krs": N_("Numer KRS"),
    "contact_email": N_("E-mail organizacji"),
    "legal_form": N_("Forma prawna"),
    "fields": N_("Obszary działalności"),
    "target_groups": N_("Dla kogo"),
    "districts_served": N_("Dzielnice działania"),
    "service_area": N_("Obszar działania"),
    "opening_hours": N_("Godziny otwarcia"),
    "offer": N_("Oferta"),
    "website": N_("Strona WWW"),
    "public_email": N_("Publiczny e-mail"),
    "public_phone": N_("Publiczny telefon"),
    "address": N_("Adres"),
    "place_name": N_("Nazwa miejsca"),
    "geometry": N_("Miejsce na mapie"),
    "email": N_("E-mail"),
    "reason": N_("Uzasadnienie"),
    "title": N_("Tytuł"),
    "description": N_("Opis"),
    "city_task": N_("Co ma zrobić lub użyczyć miasto"),
    "schedule": N_("Harmonogram"),
    "starts_on": N_("Początek"),
    "ends_on": N_("Koniec"),
    "city_cost": N_("Wkład miasta (zł)"),
    "applicant_name": N_("Nazwa grupy wnioskodawców"),
    "co_applicants": N_("Współwnioskodawcy"),
    "hours": N_("Liczba godzin"),
    "work_kind": N_("Rodzaj pracy"),
    "item": N_("Rzecz"),
    "quantity": N_("Ilość"),
    "unit_value": N_("Wartość jednej sztuki (zł)"),
    "amount": N_("Kwota (zł)"),
    "pseudonym": N_("Pseudonim"),
    "delivered": N_("Wniesiono"),
    "usefulness": N_("Przydatność dla społeczności lokalnej"),
    "contribution": N_("Wkład własny wnioskodawców"),
    "extra": N_("Punkty dodatkowe"),
    "year": N_("Rok"),
    "hour_value": N_("Wartość godziny pracy (zł)"),
    "note": N_("Uwagi"),
}


def label(field: str) -> str:
    base = field.removeprefix("own_work_").removeprefix("own_goods_").removeprefix("own_money_")
    base = base.removesuffix("_reason")
    text = FIELD_LABELS.get(field) or FIELD_LABELS.get(base)
    return gettext(text) if text else field


def message(exc: Invalid) -> str:
    params = dict(exc.params)
    if "label" in params:
        params["label"] = label(str(params["label"]))
    return gettext(exc.msgid, **params)


def read_form(*multi: str) -> dict[str, Any]:
    """The body as a dict: a JSON object, or a form (``multi`` fields as lists)."""
    if request.is_json:
        return json_body()
    data: dict[str, Any] = request.form.to_dict()
    for name in multi:
        if name in request.form:
            data[name] = request.form.getlist(name)
    return data


def error_response(exc: Invalid, template: str | None = None, **context: Any):
    """JSON ``{"error": {code, message, field}}`` for scripts; the form again for people."""
    text = message(exc)
    if wants_api():
        body = {"error": {"code": exc.code, "message": text, "field": exc.field}}
        return jsonify(body), exc.status
    if template is None:
        abort(exc.status, description=text)
    return render_template(template, errors={exc.field: text}, **context), exc.status


def title(titles: dict[str, str] | None, value: str | None = None) -> str:
    from app.views import lang

    if not titles:
        return value or ""
    return titles.get(lang()) or titles.get("pl") or value or ""


def send(to: str, subject: str, body: str) -> bool:
    """Send after the commit; a mail server that is down does not undo the decision."""
    from app.mail import send_mail

    try:
        send_mail(to, subject, body)
    except (OSError, smtplib.SMTPException):
        log.exception("could not send mail %r", subject)
        return False
    return True


def engine():
    return current_app.extensions["engine"]
