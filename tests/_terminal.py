"""Run a command with its stderr on a pseudo-terminal, as an operator's shell would.

The CLI draws progress bars only when stderr is a terminal (``sys.stderr.isatty()``);
a pseudo-terminal exercises exactly that branch, with nothing replaced.
"""

from __future__ import annotations

import fcntl
import os
import pty
import struct
import subprocess
import termios
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

__all__ = ["run_on_terminal"]


def run_on_terminal(
    args: Sequence[str],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 300,
) -> tuple[int, str, str]:
    """Run ``args``; stdout is piped, stderr is a 120-column terminal.

    Returns the exit code, stdout, and everything written to the terminal.
    """
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    environment = {**os.environ, "TERM": "xterm", "COLUMNS": "120", **(env or {})}
    for name in ("TTY_COMPATIBLE", "TTY_INTERACTIVE"):  # rich's overrides of isatty()
        environment.pop(name, None)
    chunks: list[bytes] = []

    def drain() -> None:
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: every process holding the terminal closed it
                return
            if not data:
                return
            chunks.append(data)

    try:
        process = subprocess.Popen(
            list(args),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=slave,
            cwd=cwd,
            env=environment,
        )
    finally:
        os.close(slave)
    reader = threading.Thread(target=drain, name="terminal", daemon=True)
    reader.start()
    try:
        out, _ = process.communicate(timeout=timeout)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        reader.join(timeout=30)
        os.close(master)
    return process.returncode, out.decode(), b"".join(chunks).decode(errors="replace")
