"""Structured JSON logs that never hold an identifier or a raw blinded element.

One line per event: ``{"ts", "level", "logger", "event", ...fields}``. Fields are
passed as keyword arguments to :func:`log_event` and must be numbers, booleans, short
strings (member ids, method names, status codes, reasons) or digests made with
:func:`digest`; raw ``bytes`` are refused, so a blinded element cannot be logged by
accident. Exceptions are logged by type and traceback frames, never by message, since
a message from a lower layer could quote input.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sys
import time
import traceback
from pathlib import Path
from typing import Any

__all__ = ["JsonFormatter", "digest", "log_event", "setup_logging"]

_MAX_STR = 200
_RESERVED = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message"}


def digest(data: bytes, *, label: str = "") -> str:
    """A short, keyed-by-label SHA-256 digest for correlating log lines."""
    return hashlib.sha256(
        b"riskshare/log-digest/v1\x00" + label.encode() + b"\x00" + data
    ).hexdigest()[:16]


def _clean(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return value if len(value) <= _MAX_STR else value[:_MAX_STR] + "…"
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value[:50]]
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in list(value.items())[:50]}
    # bytes and anything else: refuse rather than risk writing an identifier.
    return f"<{type(value).__name__} withheld>"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": round(record.created, 6),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.msg if isinstance(record.msg, str) else "event",
            "pid": record.process,
        }
        for key, value in record.__dict__.items():
            if key not in _RESERVED and not key.startswith("_"):
                line[key] = _clean(value)
        if record.exc_info and record.exc_info[0] is not None:
            line["exc_type"] = record.exc_info[0].__name__
            line["traceback"] = "".join(traceback.format_tb(record.exc_info[2]))[-2000:]
        return json.dumps(line, ensure_ascii=False, sort_keys=False)


def log_event(logger: logging.Logger, event: str, level: int = logging.INFO, **fields: Any) -> None:
    if logger.isEnabledFor(level):
        logger.log(level, event, extra={k: _clean(v) for k, v in fields.items()})


def setup_logging(level: str = "info", file: Path | None = None) -> None:
    """Send the ``riskshare`` logger tree to stderr or a file, as JSON lines."""
    handler: logging.Handler = (
        logging.FileHandler(file, encoding="utf-8") if file else logging.StreamHandler(sys.stderr)
    )
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger("riskshare")
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    root.propagate = False
    logging.Formatter.converter = time.gmtime
