"""The city's processes, framework-free: accounts, audit, events, budget, councils, planning.

Used by app/ (the web), app/cli.py and importers/ alike. Nothing here imports flask, flask_babel
or folium (import-linter checks it). Order of imports: app -> importers -> civic -> layers -> geo.
"""


def N_(msgid: str) -> str:
    """Mark a user-facing Polish msgid for extraction; the web translates it when shown."""
    return msgid
