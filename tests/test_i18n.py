"""Three languages: the catalogues are complete and correct, every page renders in en and uk
without Polish interface text left over, plural forms follow each language, and the choice
is remembered."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "app" / "translations"
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]|%[sd]")


def catalog(lang: str):
    with (TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        return read_po(fh, locale=lang)


def extracted() -> dict:
    """msgid -> locations, extracted now from app/ with babel.cfg (as `pybabel extract` does)."""
    from babel.messages.frontend import parse_mapping_cfg

    with (ROOT / "babel.cfg").open() as fh:
        method_map, options_map = parse_mapping_cfg(fh)
    found: dict = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map
    ):
        key = message if isinstance(message, str) else tuple(message)
        found.setdefault(key, []).append(f"{filename}:{lineno}")
    return found


@pytest.fixture(scope="module")
def messages():
    return extracted()


@pytest.mark.parametrize("lang", ["en", "uk"])
def test_every_extracted_message_is_translated(messages, lang):
    cat = catalog(lang)
    missing = []
    for key, where in messages.items():
        m = cat.get(key if isinstance(key, str) else key[0])
        if m is None or "fuzzy" in m.flags:
            missing.append((key, where[0]))
        elif isinstance(m.string, tuple):
            if not all(m.string):
                missing.append((key, where[0]))
        elif not m.string:
            missing.append((key, where[0]))
    assert not missing, (
        f"{len(missing)} message(s) without a {lang} translation — run pybabel extract/update "
        f"and translate: {missing[:10]}"
    )


@pytest.mark.parametrize("lang", ["en", "uk", "pl"])
def test_placeholders_and_plural_forms_match(lang):
    cat = catalog(lang)
    nplurals = {"en": 2, "uk": 3, "pl": 3}[lang]
    assert cat.num_plurals == nplurals
    for m in cat:
        if not m.id or not m.string:
            continue
        ids = m.id if isinstance(m.id, tuple) else (m.id,)
        strings = m.string if isinstance(m.string, tuple) else (m.string,)
        if isinstance(m.id, tuple):
            assert len(strings) == nplurals, m.id
        want = set(PLACEHOLDER.findall(ids[-1]))
        for s in strings:
            if s:
                assert set(PLACEHOLDER.findall(s)) == want, (lang, m.id, s)


def test_plural_forms(app):
    from flask_babel import ngettext

    cases = {
        "uk": {
            1: "1 нове сповіщення",
            2: "2 нові сповіщення",
            5: "5 нових сповіщень",
            11: "11 нових сповіщень",
            21: "21 нове сповіщення",
            22: "22 нові сповіщення",
        },
        "pl": {
            1: "1 nowe powiadomienie",
            2: "2 nowe powiadomienia",
            5: "5 nowych powiadomień",
            12: "12 nowych powiadomień",
            22: "22 nowe powiadomienia",
        },
        "en": {1: "1 new notification", 2: "2 new notifications"},
    }
    for lang, forms in cases.items():
        for n, text in forms.items():
            with app.test_request_context(f"/?lang={lang}"):
                got = ngettext("%(num)d nowe powiadomienie", "%(num)d nowych powiadomień", n)
            assert got == text, (lang, n, got)


# --- rendered pages ------------------------------------------------------------------------------


def _fragments(msgid: str) -> list[str]:
    """The literal parts of a msgid that are specific enough to spot on a page."""
    parts = [p.strip(" ,.:;—–-()„”") for p in PLACEHOLDER.split(msgid) if p]
    return [p for p in parts if (" " in p and len(p) >= 10) or len(p) >= 12]


def polish_left(body: str, cat) -> list[str]:
    # a listed feature's title is data, not interface (a real project is called "Toalety przy
    # placach zabaw w każdej dzielnicy", and the msgid fragment "w każdej dzielnicy" exists)
    body = re.sub(r'(<li data-id="\d+"><a href="[^"]*">)[^<]*(</a>)', r"\1\2", body)
    text = html.unescape(re.sub(r"<script\b.*?</script>", " ", body, flags=re.S))
    left = []
    for m in cat:
        if not m.id or isinstance(m.id, tuple) or not m.string or m.string == m.id:
            continue
        for frag in _fragments(m.id):
            if frag in m.string:
                continue
            if re.search(r"(?<!\w)" + re.escape(frag) + r"(?!\w)", text):
                left.append(frag)
    return left


def html_pages(app) -> list[str]:
    """Every GET page without URL parameters, plus a few with them."""
    paths = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.arguments:
            continue
        if rule.rule.startswith(("/api", "/static", "/healthz", "/ogc", "/exports")):
            continue
        paths.append(rule.rule)
    paths += ["/districts/1", "/districts/18"]
    from layers.registry import all_layers

    paths += [f"/layers/{ly.name}" for ly in all_layers()]
    return sorted(set(paths))


@pytest.mark.parametrize("lang", ["en", "uk"])
def test_pages_have_no_polish_interface_text(app, make_user, lang):
    cat = catalog(lang)
    staff = make_user("moderator", "admin", name="Staff")
    anon = app.test_client()
    checked = 0
    for path in html_pages(app):
        for client in (anon, staff):  # staff only for the pages the public cannot open
            pl = client.get(f"{path}?lang=pl")
            if pl.status_code != 200 or pl.mimetype != "text/html":
                continue
            r = client.get(f"{path}?lang={lang}")
            assert r.status_code == 200, path
            assert f'<html lang="{lang}"' in r.text, path
            assert r.text != pl.text, path
            left = polish_left(r.text, cat)
            assert not left, f"{path} ({lang}) still shows Polish: {left[:5]}"
            checked += 1
            break
    assert checked >= 10


def test_error_messages_are_translated(app):
    c = app.test_client()
    r = c.post("/login?lang=en", data={}, headers={"Accept": "application/json"})
    assert r.status_code == 400 and "CSRF token is missing" in r.json["error"]["message"]
    r = c.post("/login?lang=uk", data={}, headers={"Accept": "application/json"})
    assert "Відсутній токен CSRF" in r.json["error"]["message"]


def test_language_is_remembered_by_cookie(app):
    c = app.test_client()
    assert '<html lang="pl"' in c.get("/login").text
    r = c.get("/login?lang=uk")
    assert '<html lang="uk"' in r.text and "lang=uk" in r.headers["Set-Cookie"]
    assert '<html lang="uk"' in c.get("/register").text  # no parameter: the cookie decides
    assert "Створити обліковий запис" in c.get("/register").text
    fresh = app.test_client()
    r = fresh.get("/login", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert '<html lang="en"' in r.text
    assert '<html lang="pl"' in fresh.get("/login?lang=xx", headers={"Accept-Language": "de"}).text


def test_language_links_keep_the_page(app):
    r = app.test_client().get("/login")
    for code in ("pl", "en", "uk"):
        assert f'href="?lang={code}"' in r.text
