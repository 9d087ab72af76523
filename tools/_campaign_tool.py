"""What both campaign tools (``campaign.py``, ``wan_campaign.py``) do first and last.

Imported first, before anything that imports gRPC: it puts the project on the path and
pins TLS 1.3, which gRPC reads once, when it is first imported.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from gateway.daemon import pin_tls13_environment  # noqa: E402

pin_tls13_environment()


def say(line: str) -> None:
    """Progress, on standard error: standard output carries only the summary."""
    print(line, file=sys.stderr, flush=True)


def report(summary: dict[str, Any], json_path: Path | None) -> int:
    """Print the summary (and write it to ``json_path``); the exit status it earns."""
    text = json.dumps(summary, indent=2, default=str)
    if json_path is not None:
        json_path.write_text(text + "\n")
    print(text)
    return 0 if summary["ok"] else 1
