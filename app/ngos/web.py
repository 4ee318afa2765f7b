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

# Field names as people read them (the domain's messages name the field by these).
FIELD_LABELS = {
    "name": "Nazwa",
    "krs": "Numer KRS",
    "contact_email": "E-mail organizacji",
    "legal_form": "Forma prawna",
    "fields": "Obszary działalności",
    "target_groups": "Dla kogo",
    "districts_served": "Dzielnice działania",
    "service_area": "Obszar działania",
    "opening_hours": "Godziny otwarcia",
    "offer": "Oferta",
    "website": "Strona WWW",
    "public_email": "Publiczny e-mail",
    "public_phone": "Publiczny telefon",
    "address": "Adres",
    "place_name": "Nazwa miejsca",
    "geometry": "Miejsce na mapie",
    "email": "E-mail",
    "reason": "Uzasadnienie",
    "title": "Tytuł",
    "description": "Opis",
    "city_task": "Co ma zrobić lub użyczyć miasto",
    "schedule": "Harmonogram",
    "starts_on": "Początek",
    "ends_on": "Koniec",
    "city_cost": "Wkład miasta (zł)",
    "applicant_name": "Nazwa grupy wnioskodawców",
    "co_applicants": "Współwnioskodawcy",
    "hours": "Liczba godzin",
    "work_kind": "Rodzaj pracy",
    "item": "Rzecz",
    "quantity": "Ilość",
    "unit_value": "Wartość jednej sztuki (zł)",
    "amount": "Kwota (zł)",
    "pseudonym": "Pseudonim",
    "delivered": "Wniesiono",
    "usefulness": "Przydatność dla społeczności lokalnej",
    "contribution": "Wkład własny wnioskodawców",
    "extra": "Punkty dodatkowe",
    "year": "Rok",
    "hour_value": "Wartość godziny pracy (zł)",
    "note": "Uwagi",
}


def N_(s: str) -> str:
    return s


# so that pybabel extracts the labels
_LABELS_EXTRACTED = [N_(v) for v in FIELD_LABELS.values()]


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
