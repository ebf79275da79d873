"""Two versions of digest2feed, alternating run by run on the same histories (issue 20).

    cd bench && ../.venv/bin/python compare.py --baseline /path/to/old/src 1000 10000 50000 --runs 3

Each repetition measures the baseline and then this checkout (``src/`` beside this
folder): a backfill into an empty folder, the weekly incremental run (the history
without its last digest, then that digest), the no-op rerun, the floor (floor.py on
that version's folder) and ``--help``. Alternating keeps the host's drift from minute
to minute out of the comparison. Medians of the runs; memory is the largest.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

from run import HERE, WORK, measured

NEW = HERE.parent / "src"


def env_for(src: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(src)}


def one(src: Path, work: Path, inputs: list[Path]) -> dict[str, tuple[float, float, float]]:
    """(wall s, memory MB, CPU s) of each kind of run, for the code in ``src``."""
    env, d2f = env_for(src), [sys.executable, "-m", "digest2feed"]
    out = work / f"out-{src.parent.name}"
    shutil.rmtree(out, ignore_errors=True)
    got = {"backfill": measured([*d2f, "update", str(work / "in"), "-o", str(out)], env)}
    shutil.rmtree(out)
    subprocess.run([*d2f, "update", *map(str, inputs[:-1]), "-o", str(out)], env=env, check=True)
    got["incremental"] = measured([*d2f, "update", str(inputs[-1]), "-o", str(out)], env)
    got["noop"] = measured([*d2f, "update", str(inputs[-1]), "-o", str(out)], env)
    got["floor"] = measured([sys.executable, str(HERE / "floor.py"), str(out)])
    got["help"] = min((measured([*d2f, "--help"], env) for _ in range(5)), key=lambda m: m[0])
    shutil.rmtree(out)
    return got


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("sizes", nargs="*", type=int, default=[1000, 10000, 50000])
    ap.add_argument("--baseline", type=Path, required=True, help="the src/ folder of the version to compare with")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    print(f"{'papers':>7} {'code':>8} | {'backfill':>15} {'mem':>6} | {'increm.':>7} {'×floor':>6} {'mem':>6} | "
          f"{'no-op':>6} {'×floor':>6} | {'floor':>5} | {'--help':>6}")  # fmt: skip
    for size in args.sizes:
        work = WORK / f"compare-{size}"
        shutil.rmtree(work, ignore_errors=True)
        subprocess.run([sys.executable, str(HERE / "generate.py"), str(size), str(work / "in")], check=True)
        inputs = sorted((work / "in").glob("*.txt"))
        runs: dict[str, list[dict]] = {"baseline": [], "new": []}
        for _ in range(args.runs):
            runs["baseline"].append(one(args.baseline, work, inputs))
            runs["new"].append(one(NEW, work, inputs))
        for code, got in runs.items():
            med = {k: statistics.median(g[k][0] for g in got) for k in got[0]}
            mem = {k: max(g[k][1] for g in got) for k in got[0]}
            back, inc, noop, floor = med["backfill"], med["incremental"], med["noop"], med["floor"]
            print(
                f"{size:>7} {code:>8} | {back:>6.2f} s {size / back:>5.0f}/s {mem['backfill']:>4.0f}MB"
                f" | {inc:>5.2f} s {inc / floor:>5.1f}× {mem['incremental']:>4.0f}MB"
                f" | {noop:>4.2f} s {noop / floor:>5.1f}× | {floor:>4.2f}s | {med['help']:>4.2f} s",
                flush=True,
            )
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
