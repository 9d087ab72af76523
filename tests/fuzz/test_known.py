"""Each known defect of `tests.fuzz._known`, reproduced as a strict expected failure.

When the owning package fixes one, its test passes, strict xfail turns that into a
failure, and the entry (with this test) is removed — so the harness never keeps
tolerating a crash that no longer exists.
"""

from __future__ import annotations

from tests.fuzz._known import KNOWN

# Each entry of KNOWN gets a strict-xfail reproduction here; none is open now (the last,
# adapters' load_mapping on a file that is not UTF-8, is fixed and tested in
# tests/adapters/test_mapping.py).
REPRODUCED: set[str] = set()


def test_every_known_defect_has_a_reproduction() -> None:
    assert {k.where for k in KNOWN} == REPRODUCED
