"""Loads the RFC 9497 vectors in tests/vectors/rfc9497 (source named in tests/vectors/README.md)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

VECTORS = Path(__file__).resolve().parents[1] / "vectors"


@dataclass(frozen=True)
class OprfVector:
    mode: int
    seed: bytes
    key_info: bytes
    sk: bytes
    pk: bytes | None
    inputs: list[bytes]
    blinds: list[bytes]
    blinded: list[bytes]
    evaluated: list[bytes]
    outputs: list[bytes]
    proof: bytes | None
    proof_r: bytes | None


def _hexlist(s: str) -> list[bytes]:
    return [bytes.fromhex(x) for x in s.split(",")]


def rfc9497(mode: int) -> list[OprfVector]:
    data: list[dict[str, Any]] = json.loads(
        (VECTORS / "rfc9497" / "rfc9497-ristretto255-sha512.json").read_text()
    )
    out = []
    for suite in data:
        if suite["mode"] != mode:
            continue
        assert suite["identifier"] == "ristretto255-SHA512"
        for v in suite["vectors"]:
            proof = v.get("Proof")
            out.append(
                OprfVector(
                    mode=mode,
                    seed=bytes.fromhex(suite["seed"]),
                    key_info=bytes.fromhex(suite["keyInfo"]),
                    sk=bytes.fromhex(suite["skSm"]),
                    pk=bytes.fromhex(suite["pkSm"]) if "pkSm" in suite else None,
                    inputs=_hexlist(v["Input"]),
                    blinds=_hexlist(v["Blind"]),
                    blinded=_hexlist(v["BlindedElement"]),
                    evaluated=_hexlist(v["EvaluationElement"]),
                    outputs=_hexlist(v["Output"]),
                    proof=bytes.fromhex(proof["proof"]) if proof else None,
                    proof_r=bytes.fromhex(proof["r"]) if proof else None,
                )
            )
    return out
