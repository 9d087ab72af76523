"""Screening a batch of identifiers through the member's own gateway: one merged result.

The caller gives identifiers (and, per identifier, an optional purpose, legal basis and
consent reference); they are sent to the running gateway over its admin socket in
requests of at most ``BATCH`` identifiers that share those signed fields, and the
answers of every responder are merged per identifier. The result is plain data (what
``riskshare query --json`` prints): the identifiers stay with the caller, who gave them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from gateway._client import AdminClient

__all__ = ["BATCH", "Fields", "screen"]

BATCH = 1000

# (purpose, legal basis, consent reference); "" means "the default".
Fields = tuple[str, str, str]


def _groups(
    count: int, fields: Sequence[Fields] | None, default: Fields
) -> list[tuple[Fields, list[int]]]:
    """Positions grouped by their (purpose, basis, consent), in batches of ``BATCH``:
    each request signs one set of fields."""
    groups: dict[Fields, list[int]] = {}
    for i in range(count):
        own = fields[i] if fields is not None else ("", "", "")
        key = (own[0] or default[0], own[1] or default[1], own[2] or default[2])
        groups.setdefault(key, []).append(i)
    return [
        (key, positions[start : start + BATCH])
        for key, positions in groups.items()
        for start in range(0, len(positions), BATCH)
    ]


def screen(
    config: Path,
    list_type: str,
    id_type: str,
    values: Sequence[str],
    *,
    members: Sequence[str] = (),
    purpose: str = "",
    deadline_ms: int = 0,
    bucket_mode: bool = False,
    legal_basis: str = "",
    consent_ref: str = "",
    fields: Sequence[Fields] | None = None,
    progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Screen ``values`` through the gateway configured at ``config``; one merged result.

    ``fields``, one per value, override ``purpose``, ``legal_basis`` and ``consent_ref``
    for that value where not empty. ``progress`` is told how many values each finished
    request covered.
    """
    results: list[dict[str, Any]] = []
    rejected: list[dict[str, Any]] = []
    answers: dict[str, dict[str, Any]] = {}
    default = (purpose, legal_basis, consent_ref)
    with AdminClient.from_config(config) as client:
        for (code, basis, consent), positions in _groups(len(values), fields, default):
            chunk = [values[i] for i in positions]
            reply = client.query(
                list_type,
                id_type,
                chunk,
                members=members,
                purpose=code,
                deadline_ms=deadline_ms,
                bucket_mode=bucket_mode,
                legal_basis=basis,
                consent_ref=consent,
            )
            skipped = {r.index for r in reply.rejected}
            rejected += [{"index": positions[r.index], "reason": r.reason} for r in reply.rejected]
            rows: list[dict[str, Any]] = [
                {"index": positions[i], "value": chunk[i], "members": []}
                for i in range(len(chunk))
                if i not in skipped
            ]
            for answer in reply.answers:
                seen = answers.setdefault(
                    answer.member_id,
                    {"member": answer.member_id, "errors": [], "receipts": [], "hits": 0},
                )
                if answer.error_code:
                    seen["errors"].append({"code": answer.error_code, "message": answer.error})
                    continue
                seen["receipts"].append(answer.receipt.decode())
                for position, hit in enumerate(answer.hits):
                    if hit:
                        seen["hits"] += 1
                        label = answer.labels[position] if answer.labels else None
                        entry: dict[str, Any] = {"member": answer.member_id}
                        if label is not None and label.present:
                            entry["reason"] = label.reason
                            entry["listed_month"] = label.listed_month
                        rows[position]["members"].append(entry)
            results += rows
            if progress is not None:
                progress(len(chunk))
    results.sort(key=lambda row: row["index"])
    rejected.sort(key=lambda row: row["index"])
    for row in results:
        row["hit"] = bool(row["members"])
    return {
        "list_type": list_type,
        "id_type": id_type,
        "queried": len(values),
        "accepted": len(results),
        "rejected": rejected,
        "hits": sum(1 for r in results if r["hit"]),
        "results": results,
        "answers": list(answers.values()),
    }
