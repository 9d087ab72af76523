"""How numbers, times and hashes read on the dashboard (pure functions).

Every time on the dashboard is UTC, shown as ``YYYY-MM-DD HH:MM:SS``; time filters are
read as UTC too, so what a user types matches what the pages show. Credits are kept in
milli-credits on the ledger and shown as credits with three decimals, computed with
integers so the page shows exactly the ledger's amount.
"""

from __future__ import annotations

import datetime as dt

from gateway._errors import GatewayError

__all__ = [
    "BadFilter",
    "credits",
    "parse_time",
    "short_hex",
    "utc",
    "utc_input",
]


class BadFilter(GatewayError):
    """A query-string filter the dashboard cannot read (answered with 400)."""


def utc(ms: int | None) -> str:
    """Milliseconds since the Unix epoch as UTC text; ``—`` for none."""
    if ms is None:
        return "—"
    moment = dt.datetime.fromtimestamp(ms / 1000, dt.UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def utc_input(ms: int | None) -> str:
    """The value a ``datetime-local`` input shows for ``ms`` (UTC)."""
    if ms is None:
        return ""
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")


def parse_time(text: str, *, end: bool = False) -> int | None:
    """A filter time (``YYYY-MM-DD``, ``YYYY-MM-DDTHH:MM[:SS]``, UTC) in milliseconds.

    A bare date or minute-precision time with ``end`` means the end of that day or
    minute, so ``to=2025-01-01`` includes the whole day.
    """
    text = text.strip()
    if not text:
        return None
    for fmt, span in (
        ("%Y-%m-%d", dt.timedelta(days=1)),
        ("%Y-%m-%dT%H:%M", dt.timedelta(minutes=1)),
        ("%Y-%m-%dT%H:%M:%S", dt.timedelta(seconds=1)),
        ("%Y-%m-%d %H:%M:%S", dt.timedelta(seconds=1)),
    ):
        try:
            moment = dt.datetime.strptime(text, fmt).replace(tzinfo=dt.UTC)
        except ValueError:
            continue
        if end:
            moment += span
        ms = int(moment.timestamp() * 1000)
        return ms - 1 if end else ms
    raise BadFilter("times are YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS], in UTC")


def credits(mcredits: int) -> str:
    """Milli-credits as credits, exactly: ``-1234`` → ``-1.234``."""
    sign = "-" if mcredits < 0 else ""
    whole, milli = divmod(abs(mcredits), 1000)
    return f"{sign}{whole:,}.{milli:03d}"


def short_hex(value: bytes | str, keep: int = 16) -> str:
    """The first ``keep`` hex digits and an ellipsis (full values are on detail pages)."""
    text = value.hex() if isinstance(value, bytes) else value
    return text if len(text) <= keep else text[:keep] + "…"
