"""Flask application factory. Flask lives only in app/."""

from __future__ import annotations

import secrets
from typing import Any

from flask import Flask, g, request
from flask_babel import Babel, get_locale
from sqlalchemy.exc import OperationalError

from geo import db as geo_db
from geo.cities import get_city
from geo.config import ROOT, Settings

LANGUAGES = ("pl", "en", "uk")


def select_locale() -> str:
    lang = request.args.get("lang") or request.cookies.get("lang")
    if lang in LANGUAGES:
        return lang
    return request.accept_languages.best_match(LANGUAGES) or "pl"


def secret_key() -> str:
    """CIVICMAP_SECRET_KEY, or one generated once and kept in var/ (shared by all workers)."""
    import os

    from geo.config import VAR_DIR

    if os.environ.get("CIVICMAP_SECRET_KEY"):
        return os.environ["CIVICMAP_SECRET_KEY"]
    path = VAR_DIR / "secret_key"
    if not path.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another worker made it first
            pass
        else:
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_hex(32))
    return path.read_text().strip()


def content_security_policy(nonce: str, basemap: str) -> str:
    """Scripts only from us or with this response's nonce (folium's inline scripts get it)."""
    # The basemap comes through our own /basemap/ proxy (app/basemap): img-src stays 'self'.
    img = "'self' data: blob:"
    return (
        f"default-src 'self'; script-src 'self' 'nonce-{nonce}'; "
        f"style-src 'self' 'nonce-{nonce}'; style-src-attr 'unsafe-inline'; "
        f"img-src {img}; connect-src 'self'; "
        "font-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'self'; form-action 'self'"
    )


# The web side, one line per module (an audience's package or a shared web helper). Each module
# has `init_app(app)`, or a blueprint `bp` (and optionally `admin_bp`) to register. Order matters:
# security's checks run first.
WEB_MODULES: tuple[str, ...] = (
    "app.public",
    "app.basemap",
    "app.api",
    "app.ogc",
    "app.tiles",
    "app.security",
    "app.mail",
    "app.auth",
    "app.residents.account",
    "app.moderation",
    "app.residents.propose",
    "app.residents.proposal_page",
    "app.staff",
    "app.residents.consult",
    "app.residents.geocode",
    "app.councils",
    "app.planners",
    "app.ngos",
    "app.initiatives",
    "app.pb",
    "app.pb.results",
    "app.compress",
)


def _register_web_modules(app: Flask) -> None:
    import importlib

    for name in WEB_MODULES:
        module = importlib.import_module(name)
        if hasattr(module, "init_app"):
            module.init_app(app)
            continue
        for attr in ("bp", "admin_bp"):
            if hasattr(module, attr):
                app.register_blueprint(getattr(module, attr))


def create_app(config: dict[str, Any] | None = None) -> Flask:
    settings = Settings()
    app = Flask(__name__, static_folder=str(ROOT / "static"), static_url_path="/static")
    app.config.update(
        SECRET_KEY=secret_key(),
        MAX_CONTENT_LENGTH=2 * 1024 * 1024,
        BASEMAP=settings.basemap,
        CITY=settings.city,
        BABEL_DEFAULT_LOCALE="pl",
        BABEL_TRANSLATION_DIRECTORIES=str(ROOT / "app" / "translations"),
        JSON_SORT_KEYS=False,
    )
    app.config.from_prefixed_env("CIVICMAP")
    if config:
        app.config.update(config)
    app.config.setdefault("DATABASE_URL", config.get("DATABASE_URL") if config else None)
    if not app.config["DATABASE_URL"]:
        app.config["DATABASE_URL"] = geo_db.database_url()
    app.extensions["engine"] = geo_db.engine(app.config["DATABASE_URL"])
    app.extensions["city"] = get_city(app.config["CITY"])

    Babel(app, locale_selector=select_locale)

    from app.assets import configure_folium

    configure_folium(app.static_url_path)

    from app import errors

    errors.register(app)

    @app.before_request
    def _nonce() -> None:
        g.csp_nonce = secrets.token_urlsafe(16)

    @app.context_processor
    def _context() -> dict[str, Any]:
        return {
            "city_name": app.extensions["city"].name,
            "csp_nonce": g.get("csp_nonce", ""),
            "get_locale": get_locale,
        }

    @app.after_request
    def _headers(resp):
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("Referrer-Policy", "same-origin")
        if resp.mimetype == "text/html" and "csp_nonce" in g:
            resp.headers.setdefault(
                "Content-Security-Policy",
                content_security_policy(g.csp_nonce, app.config["BASEMAP"]),
            )
        lang = request.args.get("lang")
        if lang in LANGUAGES:
            resp.set_cookie("lang", lang, max_age=365 * 24 * 3600, samesite="Lax")
        return resp

    _register_web_modules(app)

    @app.get("/healthz")
    def healthz():
        try:
            return {"status": "ok", **geo_db.versions(app.config["DATABASE_URL"])}
        except OperationalError as exc:
            return {"status": "unavailable", "error": str(exc.orig).splitlines()[0]}, 503

    return app


def engine():
    from flask import current_app

    return current_app.extensions["engine"]
