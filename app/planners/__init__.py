"""Urban planners: ``/planners`` — spatial demand analysis, each analysis a map, a table, a PNG
chart and GeoPackage/CSV downloads.

The analyses are civic.planning's registry (one module each); the routes here are the same
for all of them (routes.py) and web.py holds the web's side of them: language, links, who
may tune a parameter, the job store's configuration, the map and the files.

Who sees what: everyone gets the same analyses of public data (no author is ever selected).
Parameters that change *how* an analysis is computed are for planners and admins (a 403
naming the field for anyone else): see civic.planning.base.
"""

from __future__ import annotations

from app.planners.routes import bp
from app.planners.web import keep_test_jobs_apart

__all__ = ["bp", "init_app"]


def init_app(app) -> None:
    keep_test_jobs_apart(app)
    app.register_blueprint(bp)
