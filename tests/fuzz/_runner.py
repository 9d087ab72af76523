"""Run fuzz families as libFuzzer processes and read back what happened.

Each family runs as ``python -m tests.fuzz.run FAMILY`` in its own process (libFuzzer
ends its process when done), with a scratch directory this module removes
afterwards. The result is read from libFuzzer's own report: ``Done N runs in S
second(s)`` for a clean run; for a crash, the Python traceback atheris prints and the
artifact libFuzzer writes (copied out before the scratch directory goes, when asked).
Hits of known, reported defects (`tests.fuzz._known`) are counted from the harness's
log of them.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["ROOT", "FamilyResult", "run_families", "run_family"]

ROOT = Path(__file__).resolve().parents[2]
_DONE = re.compile(r"Done (\d+) runs in (\d+) second")
_ARTIFACT = re.compile(r"Test unit written to (\S+)")
_EXEC = re.compile(r"^#(\d+)\s", re.MULTILINE)


@dataclass
class FamilyResult:
    family: str
    executions: int
    seconds: float
    crashed: bool
    traceback: str = ""
    artifact: str = ""
    known: dict[str, int] = field(default_factory=dict)
    returncode: int = 0

    def summary(self) -> dict[str, object]:
        out: dict[str, object] = {
            "executions": self.executions,
            "seconds": round(self.seconds, 1),
            "crashes": int(self.crashed),
        }
        if self.crashed:
            out["traceback"] = self.traceback
            out["artifact"] = self.artifact
        if self.known:
            out["known_defect_hits"] = self.known
        return out


def _traceback(output: str) -> str:
    start = output.find("=== Uncaught Python exception: ===")
    if start < 0:
        return output[-3000:]
    end = output.find("==", output.find("\n\n", start) + 1)
    return output[start : end if end > start else start + 4000].strip()


def run_family(
    family: str,
    *,
    runs: int | None = None,
    seconds: int | None = None,
    seed: int | None = None,
    corpus: Path | None = None,
    keep_crashes: Path | None = None,
    timeout: float | None = None,
) -> FamilyResult:
    """Fuzz ``family`` for ``runs`` executions or ``seconds`` seconds."""
    flags = [f"-runs={runs}"] if runs is not None else []
    if seconds is not None:
        flags.append(f"-max_total_time={seconds}")
    if seed is not None:
        flags.append(f"-seed={seed}")
    flags += ["-print_final_stats=0", "-timeout=60", "-rss_limit_mb=4096"]
    if corpus is not None:
        corpus.mkdir(parents=True, exist_ok=True)
        flags += ["--corpus", str(corpus)]
    scratch = Path(tempfile.mkdtemp(prefix=f"riskshare-fuzz-{family}-"))
    env = dict(os.environ, RISKSHARE_FUZZ_TMP=str(scratch), GRPC_VERBOSITY="ERROR")
    started = time.monotonic()
    try:
        process = subprocess.run(
            [sys.executable, "-m", "tests.fuzz.run", family, *flags],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout,
        )
        elapsed = time.monotonic() - started
        output = process.stdout + process.stderr
        done = _DONE.search(output)
        executions = int(done.group(1)) if done else max(map(int, _EXEC.findall(output)), default=0)
        known: Counter[str] = Counter()
        for log in scratch.glob("*/known.log"):
            known.update(line for line in log.read_text().splitlines() if line)
        crashed = process.returncode != 0 or done is None
        artifact = ""
        found = _ARTIFACT.search(output)
        if crashed and found and keep_crashes is not None:
            keep_crashes.mkdir(parents=True, exist_ok=True)
            source = Path(found.group(1))
            target = keep_crashes / f"{family}-{source.name}"
            if source.exists():
                shutil.copyfile(source, target)
                artifact = str(target)
        elif found:
            artifact = found.group(1)
        return FamilyResult(
            family=family,
            executions=executions,
            seconds=elapsed,
            crashed=crashed,
            traceback=_traceback(output) if crashed else "",
            artifact=artifact,
            known=dict(known),
            returncode=process.returncode,
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def run_families(
    families: Sequence[str],
    *,
    jobs: int = 2,
    runs: Mapping[str, int] | int | None = None,
    seconds: int | None = None,
    seed: int | None = None,
    corpus: Path | None = None,
    keep_crashes: Path | None = None,
) -> list[FamilyResult]:
    """Run several families, ``jobs`` at a time; results in the order given.

    ``runs`` is one execution budget for all, or one per family; ``corpus`` is a
    directory holding one corpus directory per family.
    """

    def one(family: str) -> FamilyResult:
        budget = runs.get(family) if isinstance(runs, Mapping) else runs
        return run_family(
            family,
            runs=budget,
            seconds=seconds,
            seed=seed,
            corpus=None if corpus is None else corpus / family,
            keep_crashes=keep_crashes,
        )

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        return list(pool.map(one, families))
