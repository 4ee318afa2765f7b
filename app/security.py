"""The web's guards: CSRF, rate limits (counted in the database by civic.ratelimit), body
size and content type, strict JSON, cookie settings.

Use from views and templates:

- ``csrf_token()`` (also a Jinja global): put it in every form as
  ``<input type="hidden" name="csrf_token" value="{{ csrf_token() }}">``; scripts read
  ``<meta name="csrf-token">`` and send it as the ``X-CSRFToken`` header.
- Every POST/PUT/PATCH/DELETE is checked before the view runs (``init_app`` installs the
  check); ``@csrf_protect`` says so explicitly on a view, ``@csrf_exempt`` opts out (only for
  endpoints that authenticate otherwise). A failed check is a 400 with code ``csrf``.
- ``@rate_limit("login", limit=5, per=60)``: counted per client IP + signed-in user, in the
  database (gunicorn runs several workers), on unsafe methods only by default; over the
  limit a 429 with a clear message and ``Retry-After``.
- ``json_body()`` (also in app.forms): the request body as a JSON object, or 415 naming the
  content type that came, or 400 for malformed JSON (NaN/Infinity and absurd nesting too).
"""

from __future__ import annotations

import base64
import functools
import hmac
import json
import logging
import secrets
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, current_app, g, jsonify, render_template, request, session
from flask.json.provider import DefaultJSONProvider
from flask_babel import gettext
from werkzeug.exceptions import HTTPException

from app.errors import wants_api
from civic import ratelimit

log = logging.getLogger(__name__)

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRFToken"
_SESSION_KEY = "_csrf"
_TOKEN_BYTES = 32


# --- errors with a machine-readable code and a field -------------------------------------


class SecurityError(HTTPException):
    """An HTTP error that carries our own code and the field it concerns."""

    error_code = "error"

    def __init__(
        self, message: str, *, field: str | None = None, code: str | None = None, headers=None
    ):
        super().__init__(description=message)
        self.field = field
        if code:
            self.error_code = code
        self._headers = headers or {}

    def get_headers(self, environ=None, scope=None):
        return [("Content-Type", "text/html; charset=utf-8"), *self._headers.items()]


class CsrfError(SecurityError):
    code = 400
    error_code = "csrf"


class RateLimited(SecurityError):
    code = 429
    error_code = "rate_limited"


class PayloadTooLarge(SecurityError):
    code = 413
    error_code = "too_large"


class UnsupportedType(SecurityError):
    code = 415
    error_code = "unsupported_media_type"


class BadJson(SecurityError):
    code = 400
    error_code = "bad_json"


def error_response(exc: HTTPException, code: str, field: str | None = None):
    """JSON for the API and scripts, an HTML page for people; status and headers kept."""
    headers = {}
    if isinstance(exc, SecurityError):
        headers = dict(exc._headers)
    if wants_api():
        err: dict[str, Any] = {"code": code, "message": exc.description}
        if field:
            err["field"] = field
        resp = jsonify({"error": err})
    else:
        resp = current_app.make_response(render_template("error.html", error=exc))
    resp.status_code = exc.code or 400
    resp.headers.update(headers)
    return resp


# --- CSRF -----------------------------------------------------------------------------------


def _session_secret() -> bytes:
    raw = session.get(_SESSION_KEY)
    if not raw:
        raw = new_csrf_secret()
        session[_SESSION_KEY] = raw
    return raw.encode()


def csrf_token() -> str:
    """This session's CSRF token, masked afresh on every call (no BREACH-style leak)."""
    return mask_token(_session_secret().decode())


def new_csrf_secret() -> str:
    return secrets.token_urlsafe(_TOKEN_BYTES)


def mask_token(session_secret: str) -> str:
    """The form of a session's CSRF secret that pages carry: random pad + (pad XOR secret)."""
    secret = base64.urlsafe_b64decode(_padded(session_secret.encode()))
    pad = secrets.token_bytes(len(secret))
    masked = bytes(a ^ b for a, b in zip(pad, secret, strict=True))
    return base64.urlsafe_b64encode(pad + masked).decode().rstrip("=")


def _padded(b: bytes) -> bytes:
    return b + b"=" * (-len(b) % 4)


def _unmask(token: str) -> bytes | None:
    try:
        raw = base64.urlsafe_b64decode(_padded(token.encode("ascii")))
    except (ValueError, UnicodeEncodeError):
        return None
    half = len(raw) // 2
    if half == 0 or len(raw) != 2 * half:
        return None
    return bytes(a ^ b for a, b in zip(raw[:half], raw[half:], strict=True))


def rotate_csrf() -> None:
    """A new CSRF secret (on login and logout: a token seen before does not carry over)."""
    session.pop(_SESSION_KEY, None)


def _submitted_token() -> str | None:
    token = request.headers.get(CSRF_HEADER)
    if token:
        return token
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return request.form.get(CSRF_FIELD)
    return None


def _origin_ok() -> bool:
    """If the browser says where the request came from, it must be this site.

    Hosts are compared, not schemes: behind a TLS-terminating proxy the app may see http
    while the browser says https (the token check below is the real guard)."""
    origin = request.headers.get("Origin")
    if not origin:
        return True
    if origin == "null":
        return False
    allowed = {request.host.lower()}
    base = current_app.config.get("BASE_URL")
    if base:
        allowed.add(urlsplit(base).netloc.lower())
    return urlsplit(origin).netloc.lower() in allowed


def check_csrf() -> None:
    """Raise CsrfError unless this unsafe request carries this session's token."""
    if g.get("_csrf_ok"):
        return
    if not _origin_ok():
        raise CsrfError(
            gettext("Żądanie przyszło z innej witryny (nagłówek Origin) i zostało odrzucone."),
            field="Origin",
        )
    token = _submitted_token()
    expected = session.get(_SESSION_KEY)
    if not token:
        raise CsrfError(
            gettext(
                "Brak tokenu CSRF (pole csrf_token lub nagłówek X-CSRFToken). "
                "Odśwież stronę i spróbuj ponownie."
            ),
            field=CSRF_FIELD,
        )
    got = _unmask(token)
    if (
        not expected
        or got is None
        or not hmac.compare_digest(got, base64.urlsafe_b64decode(_padded(expected.encode())))
    ):
        raise CsrfError(
            gettext(
                "Token CSRF jest nieprawidłowy lub sesja wygasła. Odśwież stronę i spróbuj ponownie."
            ),
            field=CSRF_FIELD,
        )
    g._csrf_ok = True


def csrf_exempt(view: Callable) -> Callable:
    """Opt a view out of the CSRF check (it must authenticate some other way)."""
    view._csrf_exempt = True  # type: ignore[attr-defined]
    return view


def csrf_protect(view: Callable) -> Callable:
    """Check the CSRF token before the view (the app-wide hook already does; explicit is fine)."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        if request.method in UNSAFE_METHODS:
            check_csrf()
        return view(*args, **kwargs)

    return wrapper


# --- rate limits ----------------------------------------------------------------------------


def client_ip() -> str:
    """The client's address (behind a proxy, set CIVICMAP_PROXY_FIX=1 so ProxyFix fills it)."""
    return request.remote_addr or "unknown"


def _client_key() -> str:
    # app.auth registers its current_user here (so that this module does not import it)
    who = current_app.extensions.get("civicmap.current_user")
    user = who() if who else None
    return f"{client_ip()}|{user.id if user else '-'}"


def rate_limited_error(retry_after: int) -> RateLimited:
    return RateLimited(
        gettext(
            "Za dużo prób w krótkim czasie. Spróbuj ponownie za %(seconds)d s.",
            seconds=retry_after,
        ),
        field=None,
        headers={"Retry-After": str(retry_after)},
    )


def check_rate(bucket: str, limit: int, per: int, key: str | None = None) -> None:
    """Count one request against ``bucket`` and raise 429 when over ``limit`` per ``per`` s
    (counted in the database, :mod:`civic.ratelimit`)."""
    if not current_app.config.get("RATELIMIT_ENABLED", True):
        return
    engine = current_app.extensions["engine"]
    retry = ratelimit.hit(engine, bucket, key if key is not None else _client_key(), limit, per)
    if retry is not None:
        log.info("rate limit %s hit by %s", bucket, client_ip())
        raise rate_limited_error(retry)


def rate_limit(
    bucket: str,
    limit: int,
    per: int,
    methods: frozenset[str] | tuple[str, ...] = UNSAFE_METHODS,
    key: Callable[[], str] | None = None,
) -> Callable:
    """Decorator: at most ``limit`` requests per ``per`` seconds per client IP + user."""

    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            if request.method in methods:
                check_rate(bucket, limit, per, key() if key else None)
            return view(*args, **kwargs)

        return wrapper

    return decorator


# --- strict JSON ------------------------------------------------------------------------------


def _reject_constant(name: str):
    raise ValueError(f"{name} is not a number JSON allows")


class StrictJSONProvider(DefaultJSONProvider):
    """Flask's JSON, but NaN/Infinity and nesting deep enough to blow the stack are refused."""

    def loads(self, s, **kwargs):
        kwargs.setdefault("parse_constant", _reject_constant)
        try:
            return json.loads(s, **kwargs)
        except RecursionError as exc:
            raise ValueError("JSON nested too deeply") from exc


def json_body(field: str = "body") -> dict:
    """The request's JSON object; 415 for another content type, 400 for broken JSON."""
    if not request.is_json:
        raise UnsupportedType(
            gettext(
                "Nieobsługiwany typ treści %(type)s: wyślij application/json.",
                type=request.mimetype or gettext("(brak)"),
            ),
            field="Content-Type",
        )
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise BadJson(
            gettext("Treść żądania nie jest poprawnym obiektem JSON."),
            field=field,
        )
    return data


FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def form_or_json() -> dict[str, Any]:
    """A form post or a JSON object, as a dict; 415 naming any other content type."""
    if request.is_json:
        return json_body()
    if request.mimetype in FORM_TYPES:
        return request.form.to_dict()
    if not request.content_length and not request.mimetype:
        return {}
    raise UnsupportedType(
        gettext(
            "Nieobsługiwany typ treści %(type)s: wyślij formularz albo application/json.",
            type=request.mimetype or gettext("(brak)"),
        ),
        field="Content-Type",
    )


# --- wiring -----------------------------------------------------------------------------------


def init_app(app: Flask) -> None:
    import os

    app.json = StrictJSONProvider(app)
    app.config.setdefault("RATELIMIT_ENABLED", True)
    app.config.setdefault("SESSION_COOKIE_HTTPONLY", True)
    app.config["SESSION_COOKIE_SAMESITE"] = app.config.get("SESSION_COOKIE_SAMESITE") or "Lax"
    if "CIVICMAP_SESSION_COOKIE_SECURE" not in os.environ:
        app.config["SESSION_COOKIE_SECURE"] = not (app.debug or app.testing)
    if app.config.get("PROXY_FIX"):
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)  # type: ignore[method-assign]

    app.jinja_env.globals["csrf_token"] = csrf_token
    app.before_request_funcs.setdefault(None, []).insert(0, _check_host)

    @app.before_request
    def _guard_request() -> None:
        # request.max_content_length: the app's limit unless a view's early hook raised it
        # for this request (the /propose form takes a 5 MB photo; app/propose.py)
        limit = request.max_content_length
        if limit and request.content_length and request.content_length > limit:
            raise PayloadTooLarge(_too_large_message(limit), field="body")
        if request.method in UNSAFE_METHODS:
            view = app.view_functions.get(request.endpoint or "")
            if view is not None and getattr(view, "_csrf_exempt", False):
                return
            check_csrf()

    @app.errorhandler(SecurityError)
    def _security_error(exc: SecurityError):
        return error_response(exc, exc.error_code, exc.field)

    @app.errorhandler(413)
    def _too_large(exc: HTTPException):
        limit = request.max_content_length or app.config.get("MAX_CONTENT_LENGTH") or 0
        return error_response(
            PayloadTooLarge(_too_large_message(limit), field="body"), "too_large", "body"
        )

    @app.errorhandler(415)
    def _unsupported(exc: HTTPException):
        err = UnsupportedType(
            gettext(
                "Nieobsługiwany typ treści %(type)s: wyślij application/json.",
                type=request.mimetype or gettext("(brak)"),
            ),
            field="Content-Type",
        )
        return error_response(err, "unsupported_media_type", "Content-Type")


LOCAL_HOSTS = ("localhost", "127.0.0.1", "[::1]", "::1")


def trusted_hosts() -> set[str]:
    """Hosts this app answers to: CIVICMAP_BASE_URL's, CIVICMAP_TRUSTED_HOSTS (comma-separated)
    and the loopback names. Links in mail are built from these only (issue 14.1)."""
    hosts = set(LOCAL_HOSTS)
    base = current_app.config.get("BASE_URL")
    if base:
        hosts.add((urlsplit(base).hostname or "").lower())
    extra = current_app.config.get("TRUSTED_HOSTS_EXTRA") or ""
    hosts.update(h.strip().lower() for h in str(extra).split(",") if h.strip())
    return hosts


def _check_host():
    """A Host header naming another site is refused with 400 before anything else runs."""
    host = request.environ.get("HTTP_HOST") or request.environ.get("SERVER_NAME") or ""
    name = urlsplit("//" + host).hostname or ""
    if name.lower() not in trusted_hosts():
        log.warning("refused Host header %r from %s", host[:100], request.remote_addr)
        return current_app.response_class(
            "400 Bad Request: untrusted Host header (set CIVICMAP_BASE_URL or "
            "CIVICMAP_TRUSTED_HOSTS_EXTRA)\n",
            status=400,
            mimetype="text/plain",
        )
    return None


def _too_large_message(limit: int) -> str:
    return gettext(
        "Treść żądania jest za duża (limit %(mb)s MB).",
        mb=f"{limit / 1024 / 1024:.0f}",
    )
