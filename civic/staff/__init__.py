"""What officials do in the browser that needed the CLI before: create a consultation (its
area drawn on the map, its stage and dates), an NGO entry or a revitalisation area
(:mod:`civic.staff.features`), and the rules of a browser import (:mod:`civic.staff.imports`).
The web writes through the importers' one write path (importers/writer.py)."""
