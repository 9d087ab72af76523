"""The scanner: what must never appear, in every form it could take, and where it did.

Four kinds of needle:

- **identifiers**: as typed, digits only, normalised; and each of those hashed with
  SHA-256, SHA-1, MD5, SHA-512 and BLAKE2b, as raw digest bytes and as lower- and
  upper-case hex (the ways a careless log line or table would "anonymise" one);
- **private keys**: the PEM marker ``PRIVATE KEY``, and the raw secret bytes of every
  key written during the run — TLS (P-256 scalar), ledger signing (Ed25519 seed), CA,
  OPRF (each index's secret scalars, and the old keys a rotation keeps), the
  fingerprint registry's key — raw, hex and base64, and each key's whole PKCS#8 DER
  in base64;
- **blinded elements**: every element a querier sent, raw, hex and base64;
- **invoices**: the number of every invoice the scenario flows fingerprinted, as typed,
  normalised (``scenarios.kit.Invoice``) and digits only, each also hashed as an
  identifier is; and the invoice's fingerprint inputs (what the registry's OPRF keys),
  raw and hashed — an unkeyed fingerprint a reader of the ledger could recompute.

Haystacks are byte strings named by where they came from. Ledger tables are read row
by row (SQLite may split a value across pages, so the file alone is not enough), and
CBOR values are also opened into their leaves.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import re
import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cbor2

from adapters import Rejected, normalise
from scenarios.kit import Invoice

__all__ = [
    "Finding",
    "Needles",
    "identifier_forms",
    "invoice_forms",
    "key_forms",
    "scan",
    "sqlite_rows",
]

ID_TYPES = ("phone", "cn_id", "bank_card", "account", "device")
HASHES = ("sha256", "sha1", "md5", "sha512", "blake2b")


@dataclass(frozen=True)
class Finding:
    kind: str  # identifier, private key, blinded element, invoice
    what: str  # which needle, described without quoting it
    where: str


@dataclass
class Needles:
    """Needles by kind; each maps the bytes to look for to a description of them."""

    identifiers: dict[bytes, str] = field(default_factory=dict)
    keys: dict[bytes, str] = field(default_factory=dict)
    elements: dict[bytes, str] = field(default_factory=dict)
    invoices: dict[bytes, str] = field(default_factory=dict)

    def items(self) -> Iterator[tuple[str, bytes, str]]:
        for kind, needles in (
            ("identifier", self.identifiers),
            ("private key", self.keys),
            ("blinded element", self.elements),
            ("invoice", self.invoices),
        ):
            for needle, what in needles.items():
                yield kind, needle, what


def _hashed(raw: bytes) -> Iterator[bytes]:
    for name in HASHES:
        digest = hashlib.new(name, raw).digest()
        yield digest
        yield digest.hex().encode()
        yield digest.hex().upper().encode()


def _text_forms(texts: set[str]) -> set[bytes]:
    # Shorter strings are not identifiers on their own (they occur by chance).
    forms: set[bytes] = set()
    for text in (t for t in texts if len(t) >= 8):
        raw = text.encode()
        forms |= {raw, raw.upper(), raw.lower(), *_hashed(raw)}
    return forms


def identifier_forms(value: str) -> set[bytes]:
    """Every form of one identifier the scan looks for."""
    texts = {value, re.sub(r"\D", "", value)}
    for id_type in ID_TYPES:
        with contextlib.suppress(Rejected):
            texts.add(normalise(id_type, value))
    return _text_forms(texts)


def invoice_forms(invoice: Invoice) -> set[bytes]:
    """Every form of one invoice's number, and its fingerprint inputs raw and hashed."""
    number = invoice.number
    forms = _text_forms({number, invoice.normalised().number, re.sub(r"\D", "", number)})
    inputs = invoice.fingerprint_inputs()
    for raw in (*inputs.exact, *inputs.similar):
        forms |= {raw, *_hashed(raw)}
    return forms


def _encodings(raw: bytes) -> set[bytes]:
    return {
        raw,
        raw.hex().encode(),
        raw.hex().upper().encode(),
        base64.b64encode(raw).rstrip(b"="),
        base64.urlsafe_b64encode(raw).rstrip(b"="),
    }


def key_forms(secret: bytes, pkcs8_der: bytes | None = None) -> set[bytes]:
    """The raw secret of a key in every encoding, and its whole PKCS#8 in base64."""
    forms = _encodings(secret)
    if pkcs8_der is not None:
        forms.add(base64.b64encode(pkcs8_der)[:64])
    return forms


def element_forms(element: bytes) -> set[bytes]:
    return _encodings(element)


def _leaves(value: Any) -> Iterator[bytes]:
    if isinstance(value, bytes):
        yield value
    elif isinstance(value, str):
        yield value.encode()
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(key)
            yield from _leaves(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _leaves(item)


def _opened(blob: bytes) -> Iterator[bytes]:
    """A stored value and, when it is (a domain tag and) CBOR, its leaves."""
    yield blob
    body = blob.split(b"\x00", 1)[1] if blob.startswith(b"riskshare/") else blob
    try:
        value = cbor2.loads(body)
    except Exception:  # not CBOR: the bytes themselves were scanned
        return
    for leaf in _leaves(value):
        yield leaf
        if leaf is not blob and leaf[:10] == b"riskshare/":
            yield from _opened(leaf)


def sqlite_rows(path: Path, *, skip: Iterable[str] = ()) -> Iterator[tuple[str, bytes]]:
    """Every value of every table of a SQLite file but ``skip``, read-only, named
    table:rowid."""
    skipped = set(skip)
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = [
            row[0]
            for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            if row[0] not in skipped
        ]
        for table in tables:
            for number, row in enumerate(connection.execute(f'SELECT * FROM "{table}"')):
                for value in row:
                    if isinstance(value, bytes | str):
                        raw = value if isinstance(value, bytes) else value.encode()
                        for part in _opened(raw):
                            yield f"{path.name}:{table}:{number}", part
    finally:
        connection.close()


def scan(needles: Needles, haystacks: Iterable[tuple[str, bytes]]) -> list[Finding]:
    """Every (kind, needle, place) where a needle occurs in a haystack.

    Identical haystacks (the same block on five replicas) are searched once, in one
    joined buffer per distinct content, and a hit is traced back to every place that
    holds it.
    """
    places: dict[bytes, list[str]] = {}
    for where, blob in haystacks:
        places.setdefault(blob, []).append(where)
    # A separator no needle contains, so a match cannot straddle two haystacks.
    separator = b"\x00\xffSEPARATOR\xff\x00"
    blobs = list(places)
    joined = separator.join(blobs)
    found: dict[tuple[str, str, str], Finding] = {}
    for kind, needle, what in needles.items():
        if needle not in joined:
            continue
        for blob in blobs:
            if needle in blob:
                for where in places[blob]:
                    found.setdefault((kind, what, where), Finding(kind, what, where))
    return sorted(found.values(), key=lambda f: (f.kind, f.where, f.what))


def group(findings: Iterable[Finding]) -> Mapping[str, list[str]]:
    out: dict[str, list[str]] = {}
    for finding in findings:
        out.setdefault(f"{finding.kind}: {finding.what}", []).append(finding.where)
    return out
