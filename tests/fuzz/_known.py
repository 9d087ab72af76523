"""Defects the fuzzers found in packages whose owners are still changing them.

Each entry names the exception and the function (in our packages) that let it
escape. While an entry is here the harness counts a matching crash instead of
stopping, so the other targets keep running; ``tests/fuzz/test_known.py`` reproduces
every entry as a strict expected failure, so the day the owner fixes one, the suite
says so and the entry is removed. Findings in ``gateway`` and ``ledger`` are fixed,
never listed.
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass
from pathlib import Path

__all__ = ["KNOWN", "Known", "match"]

_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Known:
    error: type[BaseException]
    where: str  # "package/_module.py:function" of the innermost frame of ours
    what: str


# Fixed and removed: adapters/_mapping.py:load_mapping raised UnicodeDecodeError on a
# mapping file that is not UTF-8 (now a MappingError, tests/adapters/test_mapping.py).
KNOWN: tuple[Known, ...] = ()


def _innermost_ours(error: BaseException) -> str:
    found = ""
    for frame in traceback.extract_tb(error.__traceback__):
        path = Path(frame.filename)
        if path.is_relative_to(_ROOT) and not path.is_relative_to(_ROOT / "tests"):
            found = f"{path.relative_to(_ROOT)}:{frame.name}"
    return found


def match(error: BaseException) -> Known | None:
    """The known defect ``error`` is an instance of, if any."""
    where = _innermost_ours(error)
    for known in KNOWN:
        if isinstance(error, known.error) and where == known.where:
            return known
    return None
