"""One consortium of gateway processes for the whole adversary suite (`_world`), the
exposure probe running beside every attack, and the suite's figure.

After every test the consortium is let settle and audited: no element may have been
answered without a charge on the ledger. The figure — elements answered, elements
answered with no charge (must be 0), canary probe elements, and the largest number of
elements answered to one querier and not yet charged at any moment — is printed at the
end of the run and written to ``adversary-figure.json`` in the suite's temporary
directory (the path is printed too).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.adversary._world import ExposureProbe, World, start_world

_FIGURE: dict[str, Any] = {}


@pytest.fixture(scope="package")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("adversary")
    for w in start_world(root):
        with ExposureProbe(w) as probe:
            yield w
        w.quiet()
        audit = w.audit()
        _FIGURE.update(
            answered_elements=audit.answered,
            uncharged_elements=audit.uncharged_items,
            canary_probe_elements=audit.probes,
            largest_uncharged_exposure=max(probe.largest.values(), default=0),
            exposure_by_querier=dict(sorted(probe.largest.items())),
        )
        path = root / "adversary-figure.json"
        path.write_text(json.dumps(_FIGURE, indent=2, sort_keys=True))
        _FIGURE["path"] = str(path)


@pytest.fixture(autouse=True)
def every_answer_charged(world: World) -> Iterator[None]:
    """The suite's promise, checked after each attack: nothing answered went uncharged."""
    yield
    world.quiet()
    audit = world.audit()
    assert audit.uncharged == (), (
        f"{audit.uncharged_items} elements answered with no charge on the ledger"
    )


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _FIGURE:
        terminalreporter.write_sep("-", "adversary suite figure")
        for key in sorted(_FIGURE):
            terminalreporter.write_line(f"{key}: {_FIGURE[key]}")
