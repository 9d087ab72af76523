"""No identifier the demo listed or asked appears anywhere the dashboards serve.

Every page of every gateway's dashboard is crawled — the navigation pages, the query
page under each filter, every block, every transaction and every proof document — and
each answer is searched for every identifier, as typed and normalised.
"""

from __future__ import annotations

import contextlib
import re
import urllib.request

from adapters import Rejected, normalise
from tests.dashboard.conftest import MEMBERS, TOKEN, Demo

_LINK = re.compile(r'href="(/ledger/(?:block/\d+|tx/[0-9a-f]{64}(?:/proof\.json)?))"')


def _forms(value: str) -> set[str]:
    forms = {value, re.sub(r"\D", "", value)}
    for id_type in ("phone", "cn_id"):
        with contextlib.suppress(Rejected):
            forms.add(normalise(id_type, value))
    # Too short to be an identifier on its own (the demo's deliberately invalid "12345").
    return {f for f in forms if len(f) >= 8}


def _get(demo: Demo, url: str, token: str | None) -> str:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    request = urllib.request.Request(url, headers=headers)
    with urllib.request.urlopen(request, timeout=10, context=demo.trust) as r:
        assert r.status == 200, url
        return str(r.read().decode("utf-8"))


def test_no_identifier_on_any_page(demo: Demo) -> None:
    forms = set().union(*(_forms(v) for v in demo.identifiers))
    assert len(forms) > 100
    crawled = 0
    for member_id in [*MEMBERS, "orderer"]:
        base = demo.urls[member_id].rstrip("/")
        token = TOKEN if member_id == "bank-c" else None
        seen: set[str] = set()
        todo = [
            "/",
            "/ledger",
            "/queries",
            "/queries?direction=served",
            "/queries?feedback=hits",
            "/credits",
            "/ranking",
            "/lists",
            "/peers",
            "/governance",
        ]
        while todo:
            path = todo.pop()
            if path in seen:
                continue
            seen.add(path)
            text = _get(demo, base + path, token)
            crawled += 1
            for form in forms:
                assert form not in text, f"an identifier appears on {member_id}'s {path}"
            if not path.endswith(".json"):
                todo += [p for p in _LINK.findall(text) if p not in seen]
                todo += [
                    p + "/proof.json"
                    for p in _LINK.findall(text)
                    if "/tx/" in p and not p.endswith(".json")
                ]
    # Every block and transaction of four replicas was looked at.
    assert crawled > 100
