"""Public consultations (konsultacje społeczne): areas, documents, dates and residents' comments.

* ``/consultations``: open, upcoming and closed consultations, their areas on one map.
* ``/consultations/<id>``: the area on a map, dates, documents, the comments (list + map),
  and — for a signed-in resident while it is open — a form to comment at a place inside
  the area (point, line or polygon drawn with Leaflet-Geoman) or on the whole
  consultation, to reply, and to support others.
* ``/comments``: every published comment, filterable (consultation, district), sortable.

The database has the last word: the comment trigger refuses a place outside the area
(SQLSTATE CV002) or a comment outside the consultation's dates (CV003); both come back as
a form-field error. One support per person: ``comment_supports``' primary key with
INSERT ... ON CONFLICT DO NOTHING, and ``consultation_comments.supports`` moves in the
same statement.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from app import engine
from app.auth import (
    FormError,
    User,
    current_user,
    field_error,
    form_error_json,
    is_author_or_staff,
    login_required,
)
from app.errors import ApiError
from app.moderation import announce, needs_moderation
from app.propose import (
    _FORM_KEY,
    _map_labels,
    _wants_json,
    clean_text,
    db_error,
    geometry_message,
    participation_map,
)
from app.security import rate_limit
from civic.audit import record_audit
from geo import districts as gd
from geo.validate import GeometryError, check_size, parse_geometry

bp = Blueprint("consultations", __name__)

BODY_MAX = 5000
PAGE_SIZE = 30
THREAD_LIMIT = 1000
COMMENT_SORTS = {
    "newest": "c.id DESC",
    "oldest": "c.id ASC",
    "supports": "c.supports DESC, c.id DESC",
}
_HTTP = re.compile(r"^https?://", re.I)


def supports_label(n: int) -> str:
    return ngettext("Popiera %(num)d osoba", "Popiera %(num)d osób", n)


def comments_label(n: int) -> str:
    return ngettext("%(num)d uwaga", "%(num)d uwag", n)


# --------------------------------------------------------------------------- reading


_CONSULTATION_COLS = """
    k.id, k.title, k.description, k.opens_on, k.closes_on, k.stage, k.documents_url, k.demo,
    k.districts,
    current_date BETWEEN k.opens_on AND k.closes_on AS is_open,
    current_date < k.opens_on AS is_upcoming,
    ARRAY(SELECT d.full_name FROM districts d WHERE d.number = ANY(k.districts)
          ORDER BY d.number) AS district_names,
    (SELECT count(*) FROM consultation_comments c
     WHERE c.consultation_id = k.id AND c.status = 'published') AS comment_count,
    ST_XMin(k.geom) AS west, ST_YMin(k.geom) AS south, ST_XMax(k.geom) AS east,
    ST_YMax(k.geom) AS north
"""


def list_consultations(conn: Connection) -> list[dict[str, Any]]:
    rows = conn.execute(
        text(
            f"""SELECT {_CONSULTATION_COLS} FROM consultations k
                ORDER BY (current_date BETWEEN k.opens_on AND k.closes_on) DESC,
                         (current_date < k.opens_on) DESC, k.closes_on DESC, k.id DESC
                LIMIT 500"""
        )
    )
    return [_consultation(dict(r._mapping)) for r in rows]


def get_consultation(conn: Connection, consultation_id: int) -> dict[str, Any] | None:
    row = conn.execute(
        text(f"SELECT {_CONSULTATION_COLS} FROM consultations k WHERE k.id = :id"),
        {"id": consultation_id},
    ).first()
    return _consultation(dict(row._mapping)) if row else None


def _consultation(c: dict[str, Any]) -> dict[str, Any]:
    url = c.get("documents_url") or ""
    c["documents_url"] = url if _HTTP.match(url) else None  # never a javascript: link
    return c


def comments_for(conn: Connection, consultation_id: int, user: User | None) -> list[dict[str, Any]]:
    """Published comments, plus the signed-in person's own that wait for a moderator."""
    rows = conn.execute(
        text(
            """
            SELECT c.id, c.body, c.reply_to, c.status, c.supports, c.created_at, c.author_id,
                   c.districts, ST_GeometryType(c.geom) AS geometry_type,
                   coalesce(u.name, '') AS author_name, u.deleted_at IS NOT NULL AS author_deleted,
                   EXISTS (SELECT 1 FROM comment_supports s
                           WHERE s.comment_id = c.id AND s.user_id = :u) AS supported
            FROM consultation_comments c
            LEFT JOIN users u ON u.id = c.author_id
            WHERE c.consultation_id = :k
              AND (c.status = 'published' OR (c.status = 'pending' AND c.author_id = :u))
            ORDER BY c.id
            LIMIT :lim"""
        ),
        {"k": consultation_id, "u": user.id if user else -1, "lim": THREAD_LIMIT},
    )
    return [dict(r._mapping) for r in rows]


def thread(comments: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Nest replies under their comment (a reply to a hidden comment shows at the top)."""
    by_id = {c["id"]: {**c, "replies": []} for c in comments}
    roots = []
    for c in by_id.values():
        parent = by_id.get(c["reply_to"]) if c["reply_to"] else None
        (parent["replies"] if parent else roots).append(c)
    return roots


def comments_geojson(conn: Connection, consultation_id: int, user: User | None) -> str:
    link = url_for(".comment", comment_id=0).rsplit("/", 1)[0] + "/"
    return conn.execute(
        text(
            """
            SELECT json_build_object('type', 'FeatureCollection', 'features',
                   coalesce(json_agg(json_build_object(
                       'type', 'Feature', 'id', c.id,
                       'geometry', ST_AsGeoJSON(c.geom, 6)::json,
                       'properties', json_build_object(
                           'title', left(c.body, 140), 'status', c.status,
                           'supports', c.supports, 'districts', c.districts,
                           'url', :link || c.id)) ORDER BY c.id), '[]'))::text
            FROM consultation_comments c
            WHERE c.consultation_id = :k AND c.geom IS NOT NULL
              AND (c.status = 'published' OR (c.status = 'pending' AND c.author_id = :u))"""
        ),
        {"k": consultation_id, "u": user.id if user else -1, "link": link},
    ).scalar_one()


def areas_geojson(conn: Connection, ids: list[int] | None = None) -> str:
    link = url_for(".detail", consultation_id=0).rsplit("/", 1)[0] + "/"
    return conn.execute(
        text(
            """
            SELECT json_build_object('type', 'FeatureCollection', 'features',
                   coalesce(json_agg(json_build_object(
                       'type', 'Feature', 'id', k.id,
                       'geometry', ST_AsGeoJSON(k.geom, 6)::json,
                       'properties', json_build_object(
                           'title', k.title, 'opens_on', k.opens_on, 'closes_on', k.closes_on,
                           'open', current_date BETWEEN k.opens_on AND k.closes_on,
                           'url', :link || k.id)) ORDER BY k.id), '[]'))::text
            FROM consultations k
            WHERE CAST(:ids AS bigint[]) IS NULL OR k.id = ANY(CAST(:ids AS bigint[]))"""
        ),
        {"ids": ids, "link": link},
    ).scalar_one()


# --------------------------------------------------------------------------- maps


def _bounds(c: dict[str, Any]):
    pad = 0.003
    return (c["west"] - pad, c["south"] - pad, c["east"] + pad, c["north"] + pad)


# --------------------------------------------------------------------------- pages


@bp.get("/consultations")
def index():
    with engine().connect() as conn:
        items = list_consultations(conn)
        bounds = gd.city_bounds(conn)
    groups = {
        "open": [c for c in items if c["is_open"]],
        "upcoming": [c for c in items if c["is_upcoming"]],
        "closed": [c for c in items if not c["is_open"] and not c["is_upcoming"]],
    }
    fmap = participation_map(
        [
            {
                "kind": "participation-areas",
                "url": url_for(".api_areas"),
                "fit": bool(items),
                "labels": _map_labels(),
            }
        ],
        bounds,
    )
    return render_template(
        "consult/index.html", groups=groups, fmap=fmap, comments_label=comments_label
    )


@bp.get("/api/consultations")
def api_areas():
    with engine().connect() as conn:
        body = areas_geojson(conn)
    return Response(body, mimetype="application/geo+json")


def _detail_page(
    consultation_id: int,
    form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
):
    user = current_user()
    with engine().connect() as conn:
        c = get_consultation(conn, consultation_id)
        if c is None:
            abort(404, description=_("Nie ma takich konsultacji."))
        comments = comments_for(conn, consultation_id, user)
    can_comment = user is not None and c["is_open"]
    specs: list[dict[str, Any]] = [
        {
            "kind": "participation-areas",
            "url": url_for(".api_areas", ids=consultation_id),
            "fit": False,
            "link": False,
            "labels": _map_labels(),
        },
        {
            "kind": "participation-features",
            "what": "comments",
            "url": url_for(".api_comments", consultation_id=consultation_id),
            "labels": _map_labels(),
        },
    ]
    form = form or {"form_key": uuid.uuid4().hex, "place": "whole"}
    if can_comment:
        initial = None
        if form.get("geometry"):
            import json

            try:
                initial = json.loads(form["geometry"], parse_constant=lambda s: None)
            except ValueError:
                initial = None
        specs.append(
            {
                "kind": "participation-draw",
                "input": "geometry",
                "initial": initial if isinstance(initial, dict) else None,
                "types": ["Point", "LineString", "Polygon"],
                "districts": False,
                "mode_radio": "place",
            }
        )
    body = render_template(
        "consult/detail.html",
        c=c,
        comments=thread(comments),
        total=len([x for x in comments if x["status"] == "published"]),
        fmap=participation_map(specs, _bounds(c)),
        user=user,
        can_comment=can_comment,
        form=form,
        errors=errors or {},
        new_key=lambda: uuid.uuid4().hex,
        supports_label=supports_label,
        comments_label=comments_label,
        body_max=BODY_MAX,
    )
    return body, status


@bp.get("/consultations/<int:consultation_id>")
def detail(consultation_id: int):
    return _detail_page(consultation_id)


@bp.get("/consultations/comments/<int:comment_id>")
def comment(comment_id: int):
    """A comment's permalink: its place in the consultation's thread."""
    user = current_user()
    with engine().connect() as conn:
        row = conn.execute(
            text(
                "SELECT consultation_id, status, author_id FROM consultation_comments WHERE id = :id"
            ),
            {"id": comment_id},
        ).first()
    visible = row is not None and (
        row.status == "published" or is_author_or_staff(user, row.author_id)
    )
    if not visible:
        abort(404, description=_("Nie ma takiej uwagi."))
    return redirect(
        url_for(".detail", consultation_id=row.consultation_id) + f"#comment-{comment_id}"
    )


@bp.get("/api/consultations/<int:consultation_id>/comments")
def api_comments(consultation_id: int):
    with engine().connect() as conn:
        exists = conn.execute(
            text("SELECT 1 FROM consultations WHERE id = :id"), {"id": consultation_id}
        ).scalar()
        if not exists:
            raise ApiError(
                404, "not_found", f"no consultation {consultation_id}", "consultation_id"
            )
        body = comments_geojson(conn, consultation_id, current_user())
    return Response(body, mimetype="application/geo+json")


# --------------------------------------------------------------------------- writing


def _parse_comment(conn: Connection, form: dict[str, Any], consultation_id: int) -> dict[str, Any]:
    errors: dict[str, tuple[str, str]] = {}
    form_key = str(form.get("form_key") or "")
    if not _FORM_KEY.match(form_key):
        raise field_error("form_key", "invalid", _("Formularz wygasł — odśwież stronę."))
    try:
        body = clean_text(form.get("body"), "body", _("Treść uwagi"), BODY_MAX, required=True)
    except FormError as exc:
        errors.update(exc.errors)
        body = ""
    reply_to = None
    if form.get("reply_to"):
        try:
            reply_to = int(form["reply_to"])
        except ValueError:
            reply_to = -1
        ok = conn.execute(
            text(
                "SELECT 1 FROM consultation_comments WHERE id = :id AND consultation_id = :k "
                "AND status = 'published'"
            ),
            {"id": reply_to, "k": consultation_id},
        ).scalar()
        if not ok:
            errors["reply_to"] = ("not_found", _("Nie ma uwagi, na którą odpowiadasz."))
    place = form.get("place") or "whole"
    wkt = None
    if reply_to is None and place == "map":
        try:
            geom = parse_geometry(form.get("geometry") or "")
            check_size(conn, geom)
            wkt = geom.wkt
        except GeometryError as exc:
            errors["geometry"] = (exc.code, _("Pole „Miejsce”: %(why)s", why=geometry_message(exc)))
    elif place not in ("whole", "map"):
        errors["place"] = (
            "invalid",
            _("Pole „Miejsce”: wybierz całe konsultacje albo miejsce na mapie."),
        )
    if errors:
        raise FormError(errors)
    return {"form_key": form_key, "body": body, "reply_to": reply_to, "wkt": wkt}


@bp.post("/consultations/<int:consultation_id>/comments")
@login_required
@rate_limit("post", limit=30, per=600)
def add_comment(consultation_id: int):
    user = current_user()
    assert user is not None
    if request.mimetype not in ("multipart/form-data", "application/x-www-form-urlencoded"):
        raise ApiError(
            415,
            "unsupported_media_type",
            _(
                "Nieobsługiwany typ treści %(type)s: wyślij formularz.",
                type=request.mimetype or "—",
            ),
            "Content-Type",
        )
    form = request.form.to_dict()
    try:
        with engine().begin() as conn:
            c = conn.execute(
                text(
                    "SELECT id, current_date BETWEEN opens_on AND closes_on AS is_open, "
                    "opens_on, closes_on FROM consultations WHERE id = :id"
                ),
                {"id": consultation_id},
            ).first()
            if c is None:
                abort(404, description=_("Nie ma takich konsultacji."))
            data = _parse_comment(conn, form, consultation_id)
            comment_id, duplicate = _store_comment(conn, user, consultation_id, data)
    except FormError as exc:
        return _comment_error(exc, consultation_id, form)
    except DBAPIError as exc:
        mapped = db_error(exc)
        if mapped is None:
            raise
        return _comment_error(mapped, consultation_id, form)
    pending = needs_moderation(user)
    if _wants_json():
        return jsonify(
            {
                "id": comment_id,
                "status": "pending" if pending else "published",
                "url": url_for(".comment", comment_id=comment_id),
            }
        ), (200 if duplicate else 201)
    if duplicate:
        flash(_("Ta uwaga została już dodana."))
    elif pending:
        flash(
            _(
                "Uwaga dodana. Pokaże się publicznie, gdy potwierdzisz adres e-mail i sprawdzi ją moderator."
            )
        )
    else:
        flash(_("Uwaga dodana. Dziękujemy!"))
    return redirect(
        url_for(".detail", consultation_id=consultation_id) + f"#comment-{comment_id}", code=303
    )


def _comment_error(exc: FormError, consultation_id: int, form: dict[str, Any]):
    if _wants_json():
        return form_error_json(exc)
    errors = exc.messages()
    if form.get("reply_to"):
        # the reply form sits under its comment; show the message there
        errors = {f"reply-{form['reply_to']}": " ".join(errors.values())}
        form = {"form_key": uuid.uuid4().hex, "place": "whole"}
    return _detail_page(consultation_id, form, errors, exc.status)


def _store_comment(
    conn: Connection, user: User, consultation_id: int, data: dict[str, Any]
) -> tuple[int, bool]:
    eid = f"web:{data['form_key']}"
    status = "pending" if needs_moderation(user) else "published"
    row = conn.execute(
        text(
            """
            INSERT INTO consultation_comments
                (external_id, consultation_id, body, reply_to, status, author_id, geom)
            VALUES (:eid, :k, :body, :reply_to, :status, :u, ST_GeomFromText(CAST(:wkt AS text), 4326))
            ON CONFLICT (external_id) DO NOTHING
            RETURNING id"""
        ),
        {
            "eid": eid,
            "k": consultation_id,
            "body": data["body"],
            "reply_to": data["reply_to"],
            "status": status,
            "u": user.id,
            "wkt": data["wkt"],
        },
    ).first()
    if row is None:
        prev = conn.execute(
            text("SELECT id, author_id FROM consultation_comments WHERE external_id = :e"),
            {"e": eid},
        ).one()
        if prev.author_id != user.id:
            raise field_error(
                "form_key",
                "conflict",
                _("Ten formularz należy do kogoś innego — odśwież stronę."),
                409,
            )
        return prev.id, True
    record_audit(conn, user.id, "comment.create", "consultation_comments", row.id)
    # the councils hear of it (notify_council skips pending comments)
    announce(
        conn,
        user.id,
        "consultation_comments",
        row.id,
        data["body"][:80],
        pending=status == "pending",
    )
    return row.id, False


# --------------------------------------------------------------------------- supports


def support_comment(conn: Connection, user_id: int, comment_id: int) -> tuple[bool, int]:
    """One support per person: the insert and the counter move in one statement."""
    row = conn.execute(
        text(
            """
            WITH ins AS (
                INSERT INTO comment_supports (comment_id, user_id) VALUES (:c, :u)
                ON CONFLICT DO NOTHING RETURNING comment_id)
            UPDATE consultation_comments t SET supports = t.supports + 1
            FROM ins WHERE t.id = ins.comment_id
            RETURNING t.supports"""
        ),
        {"c": comment_id, "u": user_id},
    ).first()
    if row is not None:
        return True, row.supports
    total = conn.execute(
        text("SELECT supports FROM consultation_comments WHERE id = :c"), {"c": comment_id}
    ).scalar_one()
    return False, total


def withdraw_support(conn: Connection, user_id: int, comment_id: int) -> int:
    conn.execute(
        text(
            """
            WITH del AS (
                DELETE FROM comment_supports WHERE comment_id = :c AND user_id = :u
                RETURNING comment_id)
            UPDATE consultation_comments t SET supports = t.supports - 1
            FROM del WHERE t.id = del.comment_id"""
        ),
        {"c": comment_id, "u": user_id},
    )
    return conn.execute(
        text("SELECT supports FROM consultation_comments WHERE id = :c"), {"c": comment_id}
    ).scalar_one()


@bp.post("/consultations/comments/<int:comment_id>/support")
@login_required
@rate_limit("support", limit=60, per=60)
def support(comment_id: int):
    user = current_user()
    assert user is not None
    action = request.form.get("action") if request.mimetype != "application/json" else None
    withdraw = action == "withdraw"
    with engine().begin() as conn:
        c = conn.execute(
            text(
                """SELECT c.id, c.author_id, c.status, c.consultation_id,
                          current_date BETWEEN k.opens_on AND k.closes_on AS is_open
                   FROM consultation_comments c JOIN consultations k ON k.id = c.consultation_id
                   WHERE c.id = :id"""
            ),
            {"id": comment_id},
        ).first()
        if c is None or c.status != "published":
            raise ApiError(404, "not_found", _("Nie ma takiej uwagi."), "comment_id")
        if c.author_id == user.id:
            raise ApiError(400, "own_content", _("Nie możesz poprzeć własnej uwagi."), "comment_id")
        if not c.is_open:
            raise ApiError(
                409,
                "closed",
                _("Konsultacje są zamknięte — nie można już popierać uwag."),
                "consultation",
            )
        if withdraw:
            total, new, supported = withdraw_support(conn, user.id, comment_id), False, False
        else:
            (new, total), supported = support_comment(conn, user.id, comment_id), True
    if request.is_json or _wants_json():
        return jsonify(
            {"supported": supported, "new": new, "supports": total, "label": supports_label(total)}
        )
    flash(_("Poparłeś(-aś) tę uwagę.") if supported else _("Wycofano poparcie."))
    return redirect(
        url_for(".detail", consultation_id=c.consultation_id) + f"#comment-{comment_id}", code=303
    )


# --------------------------------------------------------------------------- browsing comments


@bp.get("/comments")
def browse_comments():
    args = request.args
    consultation = args.get("consultation", type=int)
    district = args.get("district", type=int)
    sort = args.get("sort") or "newest"
    q = (args.get("q") or "").strip()
    for name, value in (("consultation", consultation), ("district", district)):
        if args.get(name) and value is None:
            abort(400, description=_("Parametr „%(name)s”: podaj liczbę.", name=name))
    if sort not in COMMENT_SORTS:
        abort(400, description=_("Parametr „sort”: nieznany porządek."))
    if len(q) > 100:
        abort(400, description=_("Parametr „q”: najwyżej 100 znaków."))
    page = max(1, min(args.get("page", default=1, type=int) or 1, 10_000))
    params: dict[str, Any] = {"lim": PAGE_SIZE + 1, "off": (page - 1) * PAGE_SIZE}
    conds = ["c.status = 'published'"]
    if consultation:
        conds.append("c.consultation_id = :k")
        params["k"] = consultation
    if district:
        conds.append(":d = ANY(c.districts)")
        params["d"] = district
    if q:
        conds.append("unaccent(c.body) ILIKE unaccent(:q)")
        params["q"] = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    where = " AND ".join(conds)
    with engine().connect() as conn:
        rows = conn.execute(
            text(
                f"""SELECT c.id, c.body, c.supports, c.created_at, c.reply_to, c.districts,
                           c.geom IS NOT NULL AS placed, k.id AS consultation_id,
                           k.title AS consultation_title,
                           ARRAY(SELECT d.full_name FROM districts d WHERE d.number = ANY(c.districts)
                                 ORDER BY d.number) AS district_names
                    FROM consultation_comments c JOIN consultations k ON k.id = c.consultation_id
                    WHERE {where}
                    ORDER BY {COMMENT_SORTS[sort]}
                    LIMIT :lim OFFSET :off"""
            ),
            params,
        ).all()
        consultations = [
            dict(r._mapping)
            for r in conn.execute(
                text("SELECT id, title FROM consultations ORDER BY closes_on DESC, id DESC")
            )
        ]
        districts = gd.list_districts(conn)
        bounds = gd.city_bounds(conn)
    items = [dict(r._mapping) for r in rows[:PAGE_SIZE]]
    has_more = len(rows) > PAGE_SIZE
    keep = {k: v for k, v in args.items() if k != "page" and v}
    map_url = url_for(".api_browse_comments", **{k: v for k, v in keep.items() if k != "sort"})
    fmap = participation_map(
        [
            {
                "kind": "participation-features",
                "what": "comments",
                "url": map_url,
                "labels": _map_labels(),
            }
        ],
        bounds,
    )
    return render_template(
        "consult/comments.html",
        items=items,
        consultations=consultations,
        districts=districts,
        consultation=consultation,
        district=district,
        sort=sort,
        q=q,
        fmap=fmap,
        supports_label=supports_label,
        prev_url=url_for(".browse_comments", **keep, page=page - 1) if page > 1 else None,
        next_url=url_for(".browse_comments", **keep, page=page + 1) if has_more else None,
        sorts=[
            ("newest", _("najnowsze")),
            ("oldest", _("najstarsze")),
            ("supports", _("najwięcej poparć")),
        ],
    )


@bp.get("/api/comments")
def api_browse_comments():
    consultation = request.args.get("consultation", type=int)
    district = request.args.get("district", type=int)
    link = url_for(".comment", comment_id=0).rsplit("/", 1)[0] + "/"
    body = None
    with engine().connect() as conn:
        body = conn.execute(
            text(
                """
                SELECT json_build_object('type', 'FeatureCollection', 'features',
                       coalesce(json_agg(f), '[]'))::text
                FROM (SELECT json_build_object('type', 'Feature', 'id', c.id,
                             'geometry', ST_AsGeoJSON(c.geom, 6)::json,
                             'properties', json_build_object('title', left(c.body, 140),
                                 'supports', c.supports, 'consultation_id', c.consultation_id,
                                 'url', :link || c.id)) AS f
                      FROM consultation_comments c
                      WHERE c.status = 'published' AND c.geom IS NOT NULL
                        AND (CAST(:k AS bigint) IS NULL OR c.consultation_id = :k)
                        AND (CAST(:d AS smallint) IS NULL OR :d = ANY(c.districts))
                      ORDER BY c.id DESC LIMIT 2000) s"""
            ),
            {"k": consultation, "d": district, "link": link},
        ).scalar_one()
    return Response(body, mimetype="application/geo+json")
