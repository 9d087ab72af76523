"""The one exception root of `gateway`; every error this package raises derives from it."""

__all__ = ["GatewayError"]


class GatewayError(Exception):
    """Base class of every error raised by `gateway`."""
