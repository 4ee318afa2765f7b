"""Layers: the Layer contract (base.py), one module per layer, and the registry."""
