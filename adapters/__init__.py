"""Blacklists read from core systems, normalised to the shared standard, synced to the index."""

from adapters._errors import AdapterError

__all__ = ["AdapterError"]
