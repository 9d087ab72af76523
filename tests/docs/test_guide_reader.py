"""The Markdown reader the documentation tests rely on finds what it should."""

from __future__ import annotations

import pytest

from tests.docs._guide import blocks, section, subsequence_missing

DOC = """\
# Title

## Quickstart: two members

```sh
echo one
```

```text
one
```

```console
$ not run
```

```sh
# a heading-like line inside a block does not end the section
## not a heading
echo two
```

## Next

```sh
echo never
```
"""


def test_section_ends_at_the_next_heading_outside_fences() -> None:
    text = section(DOC, "Quickstart")
    assert [b.body for b in blocks(text, "sh")] == [
        "echo one\n",
        "# a heading-like line inside a block does not end the section\n## not a heading\n"
        "echo two\n",
    ]
    assert [b.body for b in blocks(text, "text")] == ["one\n"]
    assert "echo never" not in text


def test_missing_section_is_an_error() -> None:
    with pytest.raises(AssertionError):
        section(DOC, "Deploy")


def test_expected_lines_must_appear_in_order() -> None:
    out = "a\n  b   c\nd\n"
    assert subsequence_missing(["a", "b c", "d"], out) == []
    assert subsequence_missing(["d", "a"], out) == ["a"]
    assert subsequence_missing(["a", "x"], out) == ["x"]
