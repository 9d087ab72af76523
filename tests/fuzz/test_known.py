"""Each known defect of `tests.fuzz._known`, reproduced as a strict expected failure.

When the owning package fixes one, its test passes, strict xfail turns that into a
failure, and the entry (with this test) is removed — so the harness never keeps
tolerating a crash that no longer exists.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters import AdapterError, load_mapping
from tests.fuzz._known import KNOWN


def test_every_known_defect_has_a_reproduction() -> None:
    assert {k.where for k in KNOWN} == {"adapters/_mapping.py:load_mapping"}


@pytest.mark.xfail(strict=True, raises=UnicodeDecodeError, reason="adapters: reported")
def test_mapping_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "source.mapping.toml"
    path.write_bytes(b'name = "core"\nversion = 1\n# \xff\n')
    with pytest.raises(AdapterError):
        load_mapping(path)
