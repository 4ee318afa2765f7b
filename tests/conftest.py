"""Test fixtures: one private PostGIS cluster per session, a database cloned per module.

The template database is migrated and loaded with the shipped reference data once; cloning
it (CREATE DATABASE ... TEMPLATE) takes a fraction of a second, so each test module gets a
fresh, real database.
"""

from __future__ import annotations

import itertools
import os
import socket
import tempfile
import threading
from pathlib import Path

import psycopg
import pytest

from geo import db
from geo.cities import KRAKOW
from geo.cluster import Cluster

_counter = itertools.count()
TEMPLATE = "civicmap_template"


@pytest.fixture(scope="session")
def cluster():
    base = Path(tempfile.mkdtemp(prefix="civicmap-test-", dir="/var/tmp"))
    os.chmod(base, 0o755)
    c = Cluster(base)
    os.environ["CIVICMAP_FAST_UNSAFE"] = "1"  # fsync off: a throwaway cluster
    c.start()
    yield c
    c.destroy()


@pytest.fixture(scope="session")
def template_url(cluster):
    from importers.reference import load_reference

    url = cluster.create_database(TEMPLATE)
    db.migrate(url)
    load_reference(db.engine(url), KRAKOW, echo=lambda s: None)
    db.engine(url).dispose()
    return url


def clone(cluster: Cluster, name: str | None = None, template: str = TEMPLATE) -> str:
    name = name or f"test_{os.getpid()}_{next(_counter)}"
    return cluster.create_database(name, template=template)


def drop(cluster: Cluster, url: str) -> None:
    db.engine(url).dispose()
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(
        host="127.0.0.1", port=cluster.port, user="postgres", dbname="postgres", autocommit=True
    ) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def db_url(cluster, template_url):
    db.engine(template_url).dispose()
    url = clone(cluster)
    yield url
    drop(cluster, url)


@pytest.fixture(scope="module")
def engine(db_url):
    return db.engine(db_url)


@pytest.fixture(scope="module")
def app(db_url):
    from app import create_app

    return create_app({"DATABASE_URL": db_url, "TESTING": True, "BASEMAP": "none"})


@pytest.fixture()
def client(app):
    return app.test_client()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def live_server(app):
    """The app on a real HTTP port in a thread (for the browser)."""
    from werkzeug.serving import make_server

    port = _free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{port}"
    server.shutdown()


CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(
            "Debian chromium is missing: `make test` installs it (apt-get install chromium)"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-quic",
                "--no-first-run",
            ],
        )
        yield b
        b.close()


class PageWatch:
    """Records every request a page makes and every dialog it opens."""

    def __init__(self, page):
        self.page = page
        self.requests: list[str] = []
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        page.on("request", lambda r: self.requests.append(r.url))
        page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        page.on("pageerror", lambda e: self.errors.append(str(e)))

    def foreign(self) -> list[str]:
        from urllib.parse import urlsplit

        return [
            u
            for u in self.requests
            if urlsplit(u).scheme in ("http", "https", "ws", "wss")
            and urlsplit(u).hostname not in ("127.0.0.1",)
        ]


@pytest.fixture()
def page(browser):
    context = browser.new_context(locale="pl-PL")
    pg = context.new_page()
    pg.watch = PageWatch(pg)
    yield pg
    context.close()


AXE = Path(__file__).resolve().parent.parent / "static" / "vendor"


def run_axe(page) -> list[dict]:
    """axe-core (vendored) on the current page; WCAG 2.1 A/AA violations."""
    # Loaded by URL from our own static files: an inline copy would be blocked by the CSP.
    axe = next(AXE.glob("axe-core-*/axe.min.js"))
    page.add_script_tag(url=f"/static/vendor/{axe.parent.name}/axe.min.js")
    result = page.evaluate(
        # Let finite CSS transitions/animations end first (a Leaflet popup fading in reads as
        # low contrast half-way: a flake seen in CI).
        """async () => { await Promise.all(document.getAnimations()
             .filter(a => a.effect && a.effect.getComputedTiming().endTime !== Infinity)
             .map(a => a.finished.catch(() => null)));
             return (await axe.run(document, {runOnly: {type: 'tag',
             values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})).violations.map(
             v => ({id: v.id, impact: v.impact, help: v.help,
                    nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))})); }"""
    )
    return result


@pytest.fixture(scope="module")
def subprocess_server(request, db_url):
    """The app under gunicorn in a child process, on the module's database.

    Use it for clients that run their own HTTP stack in this process (GDAL/pyogrio,
    OWSLib): GDAL reading from an in-process server deadlocks (PITFALLS.md). A test module
    may define ``SERVER_PRELOAD`` (Python source run in the server before the app loads,
    e.g. registering a test layer). Yields the base URL.
    """
    import subprocess
    import sys
    import time
    import urllib.request

    root = Path(__file__).resolve().parent.parent
    port = _free_port()
    argv = ["gunicorn", "-b", f"127.0.0.1:{port}", "--workers", "1", "--threads", "4"]
    argv += ["--timeout", "120", "app:create_app()"]
    preload = getattr(request.module, "SERVER_PRELOAD", "")
    if preload:
        code = f"{preload}\nimport sys\nfrom gunicorn.app.wsgiapp import run\nsys.argv = {argv!r}\nrun()\n"
        cmd = [sys.executable, "-c", code]
    else:
        cmd = [sys.executable, "-m", *argv]
    env = {**os.environ, "DATABASE_URL": db_url, "BASEMAP": "none"}
    env["PYTHONPATH"] = os.pathsep.join([str(root), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    log = tempfile.NamedTemporaryFile(prefix="civicmap-server-", suffix=".log", delete=False)
    proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"server exited with {proc.returncode}:\n{Path(log.name).read_text()[-3000:]}"
                )
            try:
                with urllib.request.urlopen(url + "/healthz", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"server did not answer:\n{Path(log.name).read_text()[-3000:]}")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        os.unlink(log.name)


# --- accounts (issue 4): users, logged-in clients, the mail outbox ----------------------------

_user_counter = itertools.count(1)


@pytest.fixture()
def make_user(app):
    """Factory: ``make_user("moderator")`` -> a test client logged in as a new user.

    The client sends the session's CSRF token (X-CSRFToken) with every request and comes
    from its own IP address, so rate limits of one test do not leak into another. Attributes:
    ``client.user`` (app.auth.User), ``client.password``, ``client.csrf`` (the token for forms).
    ``make_user(confirmed=False)`` makes an unconfirmed account (its content is moderated);
    ``make_user(login=False)`` only creates the account (the client is anonymous).
    """
    import secrets

    from sqlalchemy import text

    from app.auth import _sha, create_user
    from app.security import mask_token, new_csrf_secret

    def make(
        *roles: str,
        role: str | None = None,
        confirmed: bool = True,
        email: str | None = None,
        name: str | None = None,
        password: str = "correct horse battery staple",
        district: int | None = None,
        ngo_id: int | None = None,
        council_district: int | None = None,
        login: bool = True,
    ):
        roles = tuple(roles) + ((role,) if role else ())
        n = next(_user_counter)
        with app.app_context(), app.extensions["engine"].begin() as conn:
            user = create_user(
                conn,
                email or f"user{n}-{os.getpid()}@example.org",
                name or f"Test User {n}",
                password,
                roles=roles or ("resident",),
                district=district,
                confirmed=confirmed,
                ngo_id=ngo_id,
                council_district=council_district,
            )
            assert user is not None, "e-mail already taken"
            raw = None
            if login:
                raw = secrets.token_urlsafe(32)
                conn.execute(
                    text(
                        "INSERT INTO user_sessions (id_hash, user_id, expires_at) "
                        "VALUES (:h, :u, now() + interval '1 day')"
                    ),
                    {"h": _sha(raw), "u": user.id},
                )
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"
        secret = new_csrf_secret()
        token = mask_token(secret)
        with client.session_transaction() as sess:
            sess["_csrf"] = secret
            if raw:
                sess["sid"] = raw
                sess.permanent = True
        client.environ_base["HTTP_X_CSRFTOKEN"] = token
        client.user, client.password, client.csrf = user, password, token
        return client

    return make


@pytest.fixture()
def outbox(app):
    """The mail the app has written (no SMTP under tests): ``outbox()`` -> list of messages."""
    from app.mail import outbox_dir, read_outbox
    from app.mailqueue import drain

    folder = outbox_dir(app)
    drain()  # mail of earlier tests is written after their responses (app.mailqueue)
    for old in folder.glob("*.eml"):
        old.unlink()
    return lambda: (drain(), read_outbox(folder))[1]


def parallel_posts(client, url: str, n: int, data: dict | None = None) -> list:
    """``n`` simultaneous POSTs to ``url`` over real HTTP in a ``make_user`` client's session
    (its cookie and CSRF token, asking for JSON): for races the database must settle."""
    from concurrent.futures import ThreadPoolExecutor

    import requests

    session = requests.Session()
    session.cookies.set("session", client.get_cookie("session").value)
    headers = {"X-CSRFToken": client.csrf, "Accept": "application/json"}
    with ThreadPoolExecutor(n) as pool:
        return list(
            pool.map(lambda _: session.post(url, data=data, headers=headers, timeout=60), range(n))
        )


def login_page(page, base_url: str, client) -> None:
    """Give a Playwright page the session of a ``make_user`` client (no login form needed)."""
    from urllib.parse import urlsplit

    cookie = client.get_cookie("session")
    page.context.add_cookies(
        [
            {
                "name": "session",
                "value": cookie.value,
                "domain": urlsplit(base_url).hostname,
                "path": "/",
                "httpOnly": True,
                "sameSite": "Lax",
            }
        ]
    )


@pytest.fixture(scope="session", autouse=True)
def compiled_catalogs():
    """Compile app/translations/*.po when a .mo is missing or older (make install does it too)."""
    root = Path(__file__).resolve().parent.parent / "app" / "translations"
    stale = [
        po
        for po in root.glob("*/LC_MESSAGES/messages.po")
        if not po.with_suffix(".mo").exists()
        or po.with_suffix(".mo").stat().st_mtime < po.stat().st_mtime
    ]
    if stale:
        from babel.messages.mofile import write_mo
        from babel.messages.pofile import read_po

        for po in stale:
            with po.open("rb") as fh:
                catalog = read_po(fh)
            with po.with_suffix(".mo").open("wb") as fh:
                write_mo(fh, catalog, use_fuzzy=True)


# --- imports (issue 3): did an import change anything? ----------------------------------------


@pytest.fixture()
def table_checksums(engine):
    """``table_checksums()`` -> {table: (rows, content hash)} for every layer table and
    budget_pools, and (rows, sum of ids) for ballots (rows are only ever inserted or
    deleted there, and a re-inserted ballot gets a new id). Equal before and after an import
    means it changed nothing at all - not even updated_at."""
    from sqlalchemy import text

    from layers.registry import all_layers

    def checksums() -> dict[str, tuple[int, int]]:
        tables = sorted({layer.table for layer in all_layers()} | {"budget_pools"})
        out: dict[str, tuple[int, int]] = {}
        with engine.connect() as conn:
            for table in tables:
                if conn.execute(text("SELECT to_regclass(:t)"), {"t": table}).scalar() is None:
                    continue  # a layer another test registered, without a table here
                row = conn.execute(
                    text(
                        f"SELECT count(*), coalesce(sum(hashtextextended(t::text, 0)), 0) "
                        f"FROM {table} t"
                    )
                ).one()
                out[table] = (int(row[0]), int(row[1]))
            row = conn.execute(text("SELECT count(*), coalesce(sum(id), 0) FROM ballots")).one()
            out["ballots"] = (int(row[0]), int(row[1]))
        return out

    return checksums
