"""Run one decoder family under atheris: ``python -m tests.fuzz.run FAMILY [libFuzzer flags]``.

The family's modules are imported inside ``atheris.instrument_imports`` so coverage of
our packages (and of ``tomllib``, whose parser the config targets go through) guides
the mutations. The first input byte chooses the family's target; the seeds (valid
encodings made by the real encoders) are written to a fresh corpus directory unless a
corpus directory is given with ``--corpus``, in which case libFuzzer keeps the inputs
it finds there. A libFuzzer dictionary of every ``riskshare/...`` domain tag in the
source is passed too, so the mutator can splice real prefixes into raw inputs.

Flags are libFuzzer's: ``-runs=N``, ``-max_total_time=S``, ``-seed=N``,
``-artifact_prefix=DIR/``. A crash (an exception outside the target's contract)
prints the Python traceback and exits non-zero with the input saved as an artifact.
"""

from __future__ import annotations

import importlib
import os
import re
import sys
import tempfile
from pathlib import Path

from tests.fuzz._harness import FAMILIES, vocabulary
from tests.fuzz._known import match

SCRATCH_ENV = "RISKSHARE_FUZZ_TMP"
INSTRUMENTED = ["ledger", "psi", "token_incentive", "adapters", "gateway", "scenarios", "tomllib"]


def _dictionary(directory: Path) -> Path:
    """Domain tags: psi's literal ones, and the ledger codec's ``riskshare/<d>/v1\\0``
    for every word that could be a codec domain."""
    words = [w for w in vocabulary("ledger", "psi", "token_incentive") if w.isascii()]
    tags = {w for w in words if w.startswith("riskshare/")}
    tags |= {f"riskshare/{w}/v1\x00" for w in words if re.fullmatch(r"[a-z][a-z0-9-]{1,23}", w)}
    lines = []
    for tag in sorted(tags):
        escaped = "".join(c if c.isalnum() or c in "/-_." else f"\\x{ord(c):02x}" for c in tag)
        lines.append(f'"{escaped}"')
    path = directory / "riskshare.dict"
    path.write_text("\n".join(lines) + "\n")
    return path


def main(argv: list[str]) -> None:
    if len(argv) < 2 or argv[1] not in (*FAMILIES, "control"):
        raise SystemExit(f"usage: python -m tests.fuzz.run {{{','.join(FAMILIES)}}} [flags]")
    family, flags = argv[1], argv[2:]
    corpus: Path | None = None
    if "--corpus" in flags:
        at = flags.index("--corpus")
        corpus = Path(flags[at + 1])
        flags = flags[:at] + flags[at + 2 :]
    import atheris

    with atheris.instrument_imports(include=INSTRUMENTED):
        module = importlib.import_module(f"tests.fuzz.fuzz_{family}")
    targets = module.TARGETS
    # libFuzzer ends the process with exit(), so nothing here can clean up: callers
    # (the suite, tools/fuzz.py) pass a directory they remove afterwards.
    scratch = Path(tempfile.mkdtemp(prefix=f"fuzz-{family}-", dir=os.environ.get(SCRATCH_ENV)))
    inputs = [target.setup(scratch) for target in targets]
    count = len(inputs)

    reported = scratch / "known.log"

    def one_input(data: bytes) -> None:
        if not data:
            return
        try:
            inputs[data[0] % count](data[1:])
        except Exception as error:
            known = match(error)
            if known is None:
                raise
            with reported.open("a") as log:  # tools/fuzz.py counts these lines
                log.write(f"{known.where}\n")

    seeds = corpus or scratch / "corpus"
    seeds.mkdir(parents=True, exist_ok=True)
    for index, target in enumerate(targets):
        for number, seed in enumerate(target.seeds(scratch)):
            (seeds / f"seed-{target.name}-{number}").write_bytes(bytes([index]) + seed)
    flags = [f"-dict={_dictionary(scratch)}", *flags]
    if not any(flag.startswith("-artifact_prefix=") for flag in flags):
        flags.append(f"-artifact_prefix={scratch}/")
    atheris.Setup([argv[0], *flags, str(seeds)], one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv)
