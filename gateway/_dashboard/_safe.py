"""What of a ledger value the dashboard may show: a display tree with nothing sensitive.

The ledger never holds an identifier, but the dashboard does not rely on that alone:

- A field named like an identifier (``value``, ``values``, ``identifier``, ...) is
  withheld wherever it appears — a revealed canary record, for instance, carries a
  synthetic identifier, and the page has no business showing one.
- Blinded or evaluated elements (the byte lists of a refund claim, or any list of byte
  strings other than a Merkle path) are never rendered: the page shows how many there
  are and a SHA-256 over them, enough to match them against a file without displaying
  them.
- Other bytes show as hex when short (digests, keys, signatures); longer blobs as their
  length and SHA-256.
- A query receipt's signed request and receipt are decoded, so the page shows their
  fields (parties, list type, item count, purpose, legal basis, digests) rather than
  opaque bytes.

:func:`display` returns plain ``str``/``int``/``bool``/``None``/``list``/``dict`` values;
the page layer escapes them like any other text.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping
from typing import Any

from token_incentive import CreditsError, QueryReceipt, SignedReceipt, SignedRequest

__all__ = ["WITHHELD", "display", "display_body"]

WITHHELD = "[withheld]"
_IDENTIFIER_KEYS = frozenset({"value", "values", "identifier", "identifiers", "raw_value"})
_SHORT_BYTES = 64
# Lists of hashes that are audit data (Merkle paths), shown in full.
_HASH_LISTS = frozenset({"path", "proof"})


def _digest_of(items: list[bytes]) -> str:
    h = hashlib.sha256()
    for item in items:
        h.update(len(item).to_bytes(4, "big"))
        h.update(item)
    return h.hexdigest()


def display(value: Any, key: str | None = None) -> Any:
    """A display tree of ``value`` (see the module docstring)."""
    if key is not None and key.lower() in _IDENTIFIER_KEYS:
        return WITHHELD
    if isinstance(value, bytes):
        if len(value) <= _SHORT_BYTES:
            return value.hex()
        return f"{len(value)} bytes, sha256 {hashlib.sha256(value).hexdigest()}"
    if isinstance(value, Mapping):
        return {str(k): display(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        if value and all(isinstance(v, bytes) for v in value) and key not in _HASH_LISTS:
            return f"{len(value)} byte strings, sha256 {_digest_of(list(value))}"
        return [display(v) for v in value]
    if isinstance(value, str | int | bool | float) or value is None:
        return value
    return str(value)


def _receipt_body(body: Mapping[str, Any]) -> dict[str, Any] | None:
    try:
        request = SignedRequest.from_parts(body["request"], body["request_sig"])
        receipt = QueryReceipt.from_bytes(body["receipt"])
        # Body version 2 carries no receipt signature: the transaction's is the
        # responder's over the receipt (docs/PROTOCOL.md).
        signature = body.get("receipt_sig")
        if signature is not None:
            SignedReceipt.from_parts(body["receipt"], signature)
    except (CreditsError, KeyError, TypeError):
        return None
    return {
        "receipt_id": request.receipt_id,
        "request": display(dataclasses.asdict(request.request)),
        "request_signature": request.signature.hex(),
        "receipt": display(dataclasses.asdict(receipt)),
        "receipt_signature": (
            signature.hex() if isinstance(signature, bytes) else "the transaction's signature"
        ),
    }


def display_body(kind: str | None, body: Mapping[str, Any]) -> Any:
    """A transaction body for display, decoded where the dashboard knows its kind."""
    if kind == "credits.receipt":
        decoded = _receipt_body(body)
        if decoded is not None:
            return decoded
    return display(body)
