"""Inicjatywa Lokalna (art. 19b–19h of the Act on public benefit activity and volunteering).

* applications.py — applications all year (a group of residents or an NGO), the support list,
  statuses (each change audited, notified and mailed to the applicants);
* ledger.py — the pledge ledger: work hours, goods and money, pledged vs delivered in PLN;
* assessment.py — the city's criteria (0–45 / 0–45 / 0–10, pass mark 60) and the yearly pools.

All SQL of the process lives here; the web (app/initiatives/) stays thin.
"""
