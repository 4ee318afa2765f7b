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
    axe = next(AXE.glob("axe-core-*/axe.min.js"))
    page.add_script_tag(path=str(axe))
    result = page.evaluate(
        """async () => (await axe.run(document, {runOnly: {type: 'tag',
             values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})).violations.map(
             v => ({id: v.id, impact: v.impact, help: v.help,
                    nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}))"""
    )
    return result
