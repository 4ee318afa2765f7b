"""Importers: one module per source format. Each import runs in one transaction."""
