"""The residents' web: accounts, proposals, consultations (one module per part)."""
