"""The one exception root of `adapters`; every error this package raises derives from it."""

__all__ = ["AdapterError"]


class AdapterError(Exception):
    """Base class of every error raised by `adapters`."""
