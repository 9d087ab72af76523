"""``membership_demo`` runs a real query end to end and reports correct hits and misses.

(``riskshare demo`` itself now starts the consortium demo, tested with the gateway.)
"""

from __future__ import annotations

from psi import membership_demo


def test_membership_demo_finds_exactly_the_listed() -> None:
    report = membership_demo(listed=400, queried=9)
    assert report.listed == 400 and len(report.queries) == 9
    assert sum(q.listed for q in report.queries) == 4
    assert report.correct and report.hits == 4
    assert all(q.reason is not None and q.listed_month for q in report.queries if q.hit)
    # Identifiers are masked in everything the demo prints.
    assert all("*" in q.masked for q in report.queries)
