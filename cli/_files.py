"""Files the commands write that hold identifiers in clear (query results, evidence
openings for an arbitrator).

Rules:

- The file is created mode 0600 before a byte is written, whatever the umask: the
  identifiers in it are the member's customers or listed people.
- A file already at the path is never written into: whoever holds it open, or made it
  readable to others, would read the new content. The content goes to a new file
  beside it, which then replaces it by rename (atomic on one filesystem), so the path
  holds either the old file or the whole new one.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

__all__ = ["write_private"]


def write_private(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` as a new file, mode 0600."""
    directory = path.parent if str(path.parent) else Path(".")
    # mkstemp creates the file with O_EXCL and mode 0600 (the umask can only remove
    # bits); the explicit chmod covers a filesystem that ignores the mode argument.
    fd, temporary = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            os.fchmod(handle.fileno(), 0o600)
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
