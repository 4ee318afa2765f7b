"""Public consultations (konsultacje społeczne): consultations, residents' comments, replies and
supports - the rules and all the SQL.

The database has the last word: the comment trigger refuses a place outside the area
(SQLSTATE CV002) or a comment outside the consultation's dates (CV003); the web turns both
into a form-field error (civic.participation.form.db_error). One support per person:
``comment_supports``' primary key with INSERT ... ON CONFLICT DO NOTHING, and
``consultation_comments.supports`` moves in the same statement.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text

from civic import N_
from civic.audit import record_audit
from civic.moderation import PENDING, announce, needs_moderation
from civic.participation import form as pf
from civic.participation.errors import Collector, Msg, field_error
from civic.participation.proposals import FORM_KEY, Actor
from geo.validate import GeometryError, check_size, parse_geometry
from layers import query as lq
from layers import registry
from layers.base import Field, Layer

TABLE = "consultation_comments"
COMMENTS_LAYER = "consultation-comments"
CONSULTATIONS_LAYER = "consultations"
PAGE_SIZE = 30
THREAD_LIMIT = 1000
MAP_LIMIT = 2000
Q_MAX = 100
COMMENT_SORTS = {
    "newest": "c.id DESC",
    "oldest": "c.id ASC",
    "supports": "c.supports DESC, c.id DESC",
}
_HTTP = re.compile(r"^https?://", re.I)


def _layer(name: str) -> Layer:
    found = registry.get(name)
    assert found is not None, name
    return found


def body_field() -> Field:
    """The comment's text as the layer declares it (the form's limit comes from here)."""
    return _layer(COMMENTS_LAYER).field("body")


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


def exists(conn: Connection, consultation_id: int) -> bool:
    return bool(
        conn.execute(
            text("SELECT 1 FROM consultations WHERE id = :id"), {"id": consultation_id}
        ).scalar()
    )


def _consultation(c: dict[str, Any]) -> dict[str, Any]:
    url = c.get("documents_url") or ""
    c["documents_url"] = url if _HTTP.match(url) else None  # never a javascript: link
    return c


def comments_for(
    conn: Connection, consultation_id: int, user_id: int | None
) -> list[dict[str, Any]]:
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
        {"k": consultation_id, "u": user_id if user_id is not None else -1, "lim": THREAD_LIMIT},
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


def comments_geojson(conn: Connection, consultation_id: int, user_id: int | None, link: str) -> str:
    """A consultation's placed comments (and the reader's own pending ones) for its map.

    Read through the one read path (layers.query.features): the layer's public rule (a
    published comment), plus the reader's own comment waiting for a moderator."""
    q = lq.FeatureQuery(
        filters={"consultation_id": consultation_id},
        where=("t.geom IS NOT NULL",),
        also_visible=None if user_id is None else "t.status = :pending AND t.author_id = :u",
        limit=MAP_LIMIT,
        precision=6,
        build_object=True,
        sort="t.id",
        properties=(
            ("title", "left(t.body, 140)"),
            ("status", None),
            ("supports", None),
            ("districts", None),
            ("url", ":link || t.id"),
        ),
        params={"link": link} | ({} if user_id is None else {"pending": PENDING, "u": user_id}),
    )
    return lq.features(conn, _layer(COMMENTS_LAYER), q).collection()


def areas_geojson(conn: Connection, link: str, ids: list[int] | None = None) -> str:
    """The consultations' areas (all, or ``ids``) for a map, through the one read path
    (layers.query.features); ``open`` and ``url`` are the map's own properties."""
    q = lq.FeatureQuery(
        ids=ids,
        limit=MAP_LIMIT,
        precision=6,
        build_object=True,
        sort="t.id",
        properties=(
            ("title", None),
            ("opens_on", None),
            ("closes_on", None),
            ("open", "current_date BETWEEN t.opens_on AND t.closes_on"),
            ("url", ":link || t.id"),
        ),
        params={"link": link},
    )
    return lq.features(conn, _layer(CONSULTATIONS_LAYER), q).collection()


def comment_place(conn: Connection, comment_id: int) -> Any:
    """(consultation_id, status, author_id) of a comment, or None."""
    return conn.execute(
        text("SELECT consultation_id, status, author_id FROM consultation_comments WHERE id = :id"),
        {"id": comment_id},
    ).first()


# --------------------------------------------------------------------------- writing


@dataclass(frozen=True)
class CommentInput:
    form_key: str
    body: str
    reply_to: int | None
    wkt: str | None


def parse_comment(conn: Connection, form: dict[str, Any], consultation_id: int) -> CommentInput:
    """Check the comment form; every problem at once."""
    form_key = str(form.get("form_key") or "")
    if not FORM_KEY.match(form_key):
        raise field_error("form_key", "invalid", Msg(N_("Formularz wygasł — odśwież stronę.")))
    errors = Collector()
    body = errors.attempt(
        lambda: pf.value(body_field(), form.get("body"), Msg(N_("Treść uwagi")), required=True),
        "",
    )
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
            errors.add("reply_to", "not_found", Msg(N_("Nie ma uwagi, na którą odpowiadasz.")))
    place = form.get("place") or "whole"
    wkt = None
    if reply_to is None and place == "map":
        try:
            geom = parse_geometry(form.get("geometry") or "")
            check_size(conn, geom)
            wkt = geom.wkt
        except GeometryError as exc:
            errors.merge(pf.geometry_error(exc, "place"))
    elif place not in ("whole", "map"):
        errors.add(
            "place",
            "invalid",
            Msg(N_("Pole „Miejsce”: wybierz całe konsultacje albo miejsce na mapie.")),
        )
    errors.raise_if_any()
    return CommentInput(form_key, body, reply_to, wkt)


@pf.database_refusals
def add_comment(
    conn: Connection, actor: Actor, consultation_id: int, form: dict[str, Any]
) -> tuple[int, bool, bool]:
    """A resident's comment (or reply); returns (id, duplicate, pending).

    The same form twice leaves one comment (``external_id`` = ``web:<form_key>``)."""
    if not exists(conn, consultation_id):
        raise field_error(
            "consultation", "not_found", Msg(N_("Nie ma takich konsultacji.")), status=404
        )
    data = parse_comment(conn, form, consultation_id)
    eid = f"web:{data.form_key}"
    pending = needs_moderation(actor)  # type: ignore[arg-type]
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
            "body": data.body,
            "reply_to": data.reply_to,
            "status": "pending" if pending else "published",
            "u": actor.id,
            "wkt": data.wkt,
        },
    ).first()
    if row is None:
        return pf.replayed(conn, TABLE, eid, actor.id), True, pending
    record_audit(conn, actor.id, "comment.create", TABLE, row.id)
    # the councils hear of it once it is public
    announce(conn, actor.id, TABLE, row.id, data.body[:80], pending=pending)
    return row.id, False, pending


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
    return False, _supports(conn, comment_id)


def _supports(conn: Connection, comment_id: int) -> int:
    return conn.execute(
        text("SELECT supports FROM consultation_comments WHERE id = :c"), {"c": comment_id}
    ).scalar_one()


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
    return _supports(conn, comment_id)


def set_support(
    conn: Connection, actor: Actor, comment_id: int, withdraw: bool = False
) -> tuple[bool, bool, int, int]:
    """Support a published comment of an open consultation (or withdraw the support).
    Returns (supported, new, total, consultation_id)."""
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
        raise field_error("comment_id", "not_found", Msg(N_("Nie ma takiej uwagi.")), status=404)
    if c.author_id == actor.id:
        raise field_error("comment_id", "own_content", Msg(N_("Nie możesz poprzeć własnej uwagi.")))
    if not c.is_open:
        raise field_error(
            "consultation",
            "closed",
            Msg(N_("Konsultacje są zamknięte — nie można już popierać uwag.")),
            status=409,
        )
    if withdraw:
        return False, False, withdraw_support(conn, actor.id, comment_id), c.consultation_id
    new, total = support_comment(conn, actor.id, comment_id)
    return True, new, total, c.consultation_id


# --------------------------------------------------------------------------- browsing comments


@dataclass
class CommentBrowse:
    consultation: int | None = None
    district: int | None = None
    sort: str = "newest"
    q: str = ""
    page: int = 1


def check_browse(b: CommentBrowse) -> CommentBrowse:
    """Invalid (the parameter and why) for a sort or search the list cannot do."""
    if b.sort not in COMMENT_SORTS:
        raise field_error(
            "sort", "invalid_parameter", Msg(N_("Parametr „sort”: nieznany porządek."))
        )
    if len(b.q) > Q_MAX:
        raise field_error("q", "invalid_parameter", Msg(N_("Parametr „q”: najwyżej 100 znaków.")))
    b.page = max(1, min(b.page or 1, 10_000))
    return b


def list_comments(
    conn: Connection, b: CommentBrowse, limit: int = PAGE_SIZE
) -> tuple[list[dict[str, Any]], bool]:
    """One page of published comments; (items, has_more)."""
    params: dict[str, Any] = {"lim": limit + 1, "off": (b.page - 1) * limit}
    conds = ["c.status = 'published'"]
    if b.consultation:
        conds.append("c.consultation_id = :k")
        params["k"] = b.consultation
    if b.district:
        conds.append(":d = ANY(c.districts)")
        params["d"] = b.district
    if b.q:
        conds.append("unaccent(c.body) ILIKE unaccent(:q)")
        params["q"] = "%" + b.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    rows = conn.execute(
        text(
            f"""SELECT c.id, c.body, c.supports, c.created_at, c.reply_to, c.districts,
                       c.geom IS NOT NULL AS placed, k.id AS consultation_id,
                       k.title AS consultation_title,
                       ARRAY(SELECT d.full_name FROM districts d WHERE d.number = ANY(c.districts)
                             ORDER BY d.number) AS district_names
                FROM consultation_comments c JOIN consultations k ON k.id = c.consultation_id
                WHERE {" AND ".join(conds)}
                ORDER BY {COMMENT_SORTS[b.sort]}
                LIMIT :lim OFFSET :off"""
        ),
        params,
    ).all()
    return [dict(r._mapping) for r in rows[:limit]], len(rows) > limit


def consultation_choices(conn: Connection) -> list[dict[str, Any]]:
    return [
        dict(r._mapping)
        for r in conn.execute(
            text("SELECT id, title FROM consultations ORDER BY closes_on DESC, id DESC")
        )
    ]


def published_geojson(
    conn: Connection, link: str, consultation: int | None, district: int | None
) -> str:
    """Published, placed comments (of one consultation / district) for the comments' map."""
    return conn.execute(
        text(
            f"""
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
                  ORDER BY c.id DESC LIMIT {MAP_LIMIT}) s"""
        ),
        {"k": consultation, "d": district, "link": link},
    ).scalar_one()
