"""Residents' participation, framework-free: budget proposals (proposals.py: drafts, submission,
supports, photos, listings) and public consultations (consultations.py: comments, replies,
supports). All their SQL is here; app/residents/ only parses requests and renders.

Field values are checked by the layer contract's validator (layers/validate.py, ``form=True``),
the same one the importers use; form.py turns its problems into sentences for people.
Errors are ``civic.accounts.Invalid`` carrying untranslated msgids (a parameter that needs
translating too is a :class:`civic.participation.errors.Msg`); the web translates when it shows.
"""
