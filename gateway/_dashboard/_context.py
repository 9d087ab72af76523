"""What a page can read: the member's replica, its data directory, its peers' last probes.

Pages receive a :class:`Context` and the request's query parameters and return bytes;
they never see the gateway node itself, so nothing on a page can reach a method that
changes anything.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from gateway._dashboard._peers import Latency, Probe
from gateway._dashboard._queries import RequestCache
from gateway._errors import GatewayError
from ledger import Store

__all__ = ["Context", "NotFound", "Params", "Render"]

Params = Mapping[str, str]


class NotFound(GatewayError):
    """No such page, block or transaction (answered with 404)."""


@dataclass(frozen=True, slots=True)
class Context:
    member: str
    store: Store
    data_dir: Path
    probes: Callable[[], dict[str, Probe]]
    latency: Callable[[], dict[str, Latency]]
    # (peer, list type, epoch) of every peer snapshot this gateway holds.
    held: Callable[[], Iterable[tuple[str, str, int]]]
    requests: RequestCache = field(default_factory=RequestCache)


Render = Callable[[Context, Params], bytes]
