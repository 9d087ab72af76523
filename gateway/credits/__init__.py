"""A member's side of the credits contract: canary secrets and dispute evidence."""

from gateway._canary import append_secrets, load_secrets, make_canaries, pick_canary
from gateway._evidence import dispute_openings, published_size

__all__ = [
    "append_secrets",
    "dispute_openings",
    "load_secrets",
    "make_canaries",
    "pick_canary",
    "published_size",
]
