"""Spatial analyses for planners and district councils, framework-free.

Each analysis is one function taking a SQLAlchemy ``Connection`` and :class:`Source`\\ s
(tables and filters, names validated) and returning plain dataclasses; the heavy lifting is
SQL in PostGIS, with Python (numpy, esda) only where the statistics need it. Pages call these
functions and render their results; nothing here imports Flask or folium.

- :mod:`geo.analysis.grid` — equal-area hexagonal grid in EPSG:2180, clipped to the city.
- :mod:`geo.analysis.hotspots` — Getis-Ord Gi* hot/cold spots (exact tests against random
  points, uniform or population-weighted, or esda permutations), FDR / Bonferroni aware.
- :mod:`geo.analysis.demand` — counts and money asked per district, per 1 000 residents and
  against the district's pool.
- :mod:`geo.analysis.coverage` — distance to the nearest NGO / civic venue, population-weighted.
- :mod:`geo.analysis.duplicates` — nearby proposals with similar titles (pg_trgm).
- :mod:`geo.analysis.revitalisation` — features inside or near revitalisation areas.
"""

from geo.analysis.source import Source

__all__ = ["Source"]
