"""Staff forms for what needed the CLI: officials create a consultation (its area drawn on the
map, its stage and dates), an NGO entry or a revitalisation area, and import a file from the
browser with the CLI's importers and summary. Official and admin roles only.

* ``/staff`` — the list of forms; ``/staff/new/<layer>`` — a form from the layer's fields
  (civic/staff/features.py checks it; importers/writer.py writes it: the one write path);
* ``/staff/import`` — upload a GeoJSON, GeoPackage, zipped Shapefile or CSV (WKT) into a layer,
  a dry run first (nothing written), then the same file again to write it.
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Any

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.exceptions import RequestEntityTooLarge

from app import engine
from app.auth import current_user, role_required
from app.errors import wants_api
from app.forms import form_error_json, translated
from app.residents import participation_web as pw
from app.security import rate_limit
from app.views import lang
from civic.accounts import Invalid
from civic.staff import features as sf
from civic.staff import imports as si
from geo import districts as gd
from importers.common import FieldMapping
from importers.report import ImportFileError
from importers.vector import import_vector
from importers.writer import Row, import_rows

bp = Blueprint("staff", __name__, url_prefix="/staff")
STAFF = ("official", "admin")


def _roles() -> tuple[str, ...]:
    u = current_user()
    return tuple(u.roles) if u else ()


@bp.get("")
@role_required(*STAFF)
def index():
    layers = [sf.staff_layer(n) for n in sf.STAFF_LAYERS]
    return render_template("staff/index.html", layers=layers)


# --------------------------------------------------------------------------- one feature


def _form_data(layer) -> dict[str, Any]:
    data: dict[str, Any] = {k: v for k, v in request.form.items()}
    for f in sf.form_fields(layer):
        if sf.widget(f) == "checkboxes":
            data[f.name] = request.form.getlist(f.name)
    return data


def _render_form(layer, form: dict[str, Any], errors: dict[str, str], status: int = 200):
    with engine().connect() as conn:
        bounds = gd.city_bounds(conn)
    draw = pw.draw_spec(form, lang=lang(), districts=False)
    draw["types"] = sf.draw_types(layer)
    fmap = pw.participation_map([draw], bounds)
    lng = lang()
    fields = [
        {
            "f": f,
            "widget": sf.widget(f),
            "title": f.title(lng),
            "choices": [(c, (f.choice_titles.get(c) or {}).get(lng) or c) for c in f.choices],
        }
        for f in sf.form_fields(layer)
    ]
    body = render_template(
        "staff/feature_form.html",
        layer=layer,
        layer_title=layer.title(lng),
        fields=fields,
        form=form,
        errors=errors,
        fmap=fmap,
        draw_types=sf.draw_types(layer),
    )
    return body, status


@bp.get("/new/<layer>")
@role_required(*STAFF)
def new_feature(layer: str):
    ly = _layer_or_404(layer)
    return _render_form(ly, {"form_key": uuid.uuid4().hex}, {})


def _layer_or_404(name: str):
    try:
        return sf.staff_layer(name)
    except Invalid:
        from flask import abort

        abort(404, description=_("Nie ma takiej warstwy."))


@bp.post("/new/<layer>")
@role_required(*STAFF)
@rate_limit("post", limit=60, per=600)
def create_feature(layer: str):
    user = current_user()
    assert user is not None
    ly = _layer_or_404(layer)
    form = request.get_json(silent=True) if request.is_json else _form_data(ly)
    if not isinstance(form, dict):
        form = {}
    try:
        with engine().begin() as conn:
            data = sf.parse(conn, ly, form)
            report = import_rows(
                conn,
                ly,
                [Row(data.external_id, data.properties, data.geometry, ref="form")],
                source="web form",
            )
            if report.rejected:
                r = report.rejected[0]
                raise sf.refusal(r.field, r.reason, r.code)
            fid = sf.record_created(conn, user.id, ly, data.external_id)
    except Invalid as exc:
        err = translated(exc)
        if request.is_json or wants_api():
            return form_error_json(err)
        return _render_form(ly, form, err.messages(), err.status)
    url = (
        url_for("consultations.detail", consultation_id=fid)
        if ly.name == "consultations"
        else url_for("layer_pages.feature_page", layer=ly.name, feature_id=fid)
    )
    created = report.imported > 0
    if request.is_json or wants_api():
        return jsonify({"id": fid, "url": url, "created": created}), 201 if created else 200
    flash(_("Zapisano: %(layer)s.", layer=ly.title(lang())))
    return redirect(url, code=303)


# --------------------------------------------------------------------------- import a file


def _import_page(errors: dict[str, str], form: dict[str, Any], report=None, status: int = 200):
    lng = lang()
    layers = [(ly.name, ly.title(lng)) for ly in si.importable_layers(_roles())]
    body = render_template(
        "staff/import.html",
        layers=layers,
        errors=errors,
        form=form,
        report=report,
        max_mb=si.IMPORT_MAX // 2**20,
        extensions=", ".join(si.EXTENSIONS),
    )
    return body, status


def _report_json(report) -> dict[str, Any]:
    return {
        "source": report.source,
        "layer": report.layer,
        "dry_run": report.dry_run,
        "read": report.read,
        "imported": report.imported,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "rejected": [
            {"ref": r.ref, "external_id": r.external_id, "field": r.field, "reason": r.reason}
            for r in report.rejected
        ],
        "notes": report.notes,
        "summary": report.summary(),
    }


def _import_error(exc: Invalid, form: dict[str, Any]):
    err = translated(exc)
    if wants_api():
        return form_error_json(err)
    return _import_page(err.messages(), form, status=err.status)


@bp.get("/import")
@role_required(*STAFF)
def import_form():
    return _import_page({}, {"mode": "dry_run"})


@bp.post("/import")
@role_required(*STAFF)
@rate_limit("import", limit=30, per=600)
def import_file():
    try:
        form = request.form.to_dict()
        upload = request.files.get("file")
    except RequestEntityTooLarge:
        return _import_error(si.too_large(), {"mode": "dry_run"})
    tmp = Path(tempfile.mkdtemp(prefix="civicmap-staff-import-"))
    try:
        try:
            layer = si.check_layer(form.get("layer") or "", _roles())
            dry_run = si.check_mode(form.get("mode") or "dry_run")
            name = si.safe_name(upload.filename if upload is not None else None)
            path = tmp / name
            assert upload is not None
            size = 0
            with path.open("wb") as out:
                while chunk := upload.stream.read(1 << 20):
                    size += len(chunk)
                    if size > si.IMPORT_MAX:
                        raise si.too_large()
                    out.write(chunk)
        except Invalid as exc:
            return _import_error(exc, form)
        try:
            with engine().begin() as conn:
                report = import_vector(
                    conn,
                    path,
                    layer,
                    mapping=FieldMapping(),
                    encoding=form.get("encoding") or None,
                    crs=form.get("crs") or None,
                    dry_run=dry_run,
                    progress=False,
                )
        except ImportFileError as exc:
            field = "crs" if "crs" in str(exc.message).lower() else "file"
            message = _(
                "Pole „%(field)s”: %(why)s",
                field=_("Plik") if field == "file" else "CRS",
                why=exc.message,
            )
            if wants_api():
                return jsonify(
                    {"error": {"code": "import_refused", "field": field, "message": message}}
                ), 422
            return _import_page({field: message}, form, status=422)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if wants_api():
        return jsonify(_report_json(report)), 200
    return _import_page({}, form, report=report)


import_file.max_content_length = si.IMPORT_MAX + 1024 * 1024  # the early hook of propose.py
