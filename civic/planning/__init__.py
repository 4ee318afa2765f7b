"""The planners' analyses: one module per analysis, declared by the contract in base.py and
listed in registry.py; the cached background jobs (jobs.py), the shared sources and counts
(common.py), maps and legends (maps.py), files (files.py) and charts (charts.py).

The spatial computations themselves live in geo.analysis; here they become what a planner
reads: parameters, legends, tables, map features and files.
"""
