"""NGO organisation profiles: profiles.py (the profile, members, visibility), claims.py (KRS +
a confirming e-mail, moderation), places.py (seat and branches), find.py (find an
organisation, a district's organisations, what a profile page shows), common.py (the field
error ``Invalid`` and the checks shared with civic/initiatives).

All SQL of the NGO process lives here; the web (app/ngos/) parses input, calls one of these
functions and renders. Errors are ``civic.ngos.common.Invalid`` (a 4xx naming the field).
"""
