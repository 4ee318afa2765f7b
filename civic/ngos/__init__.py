"""NGO organisation profiles (civic/ngos/profiles.py) and finding them (civic/ngos/find.py).

All SQL of the NGO process lives here; the web (app/ngos/) parses input, calls one of these
functions and renders. Errors are ``civic.ngos.common.Invalid`` (a 4xx naming the field).
"""
