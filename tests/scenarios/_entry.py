"""``riskshare`` as an operator runs it: the real entry point, in a subprocess."""

from __future__ import annotations

import subprocess
import sys

ENTRY = "import sys; from cli import main; sys.argv[0] = 'riskshare'; main()"


def riskshare(*argv: str, timeout: float = 3000) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", ENTRY, *argv], capture_output=True, text=True, timeout=timeout
    )
