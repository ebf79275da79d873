"""Does keeping pieces earn its keep? The weekly run with and without it, alternating (issue 20).

    cd bench && ../.venv/bin/python pieces.py 10000 --runs 5

Issue 20 keeps a speed-up only if, on the 10,000-paper history, it saves more than a third of
the weekly incremental run with the default settings and with twenty feeds of your own. Each
repetition copies the same folder twice and runs the same week into it: once as shipped, once
with render/pieces.py's ``keeps`` answering no (every file rendered whole, every record read
back), in a child process each. The week is the history's last full one (the last with new
submissions, as run.py's --feeds takes it), so the feeds of your own get new entries too.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys

from feeds import toml
from run import HERE, WORK, measured

WHOLE = "import digest2feed.render.pieces as p; p.keeps = lambda doc: False; from digest2feed.cli import run; run()"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("size", type=int, nargs="?", default=10000)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    work = WORK / f"pieces-{args.size}"
    shutil.rmtree(work, ignore_errors=True)
    subprocess.run([sys.executable, str(HERE / "generate.py"), str(args.size), str(work / "in")], check=True)
    inputs = sorted((work / "in").glob("*.txt"))
    week = max(i for i, p in enumerate(inputs) if "\nNew submissions\n" in p.read_text(encoding="utf-8"))
    cfg = work / "feeds.toml"
    cfg.write_text(toml(20), encoding="utf-8")
    for label, extra in (("default settings", []), ("20 feeds of your own", ["-c", str(cfg)])):
        base = work / "base"
        shutil.rmtree(base, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "digest2feed", "update", *map(str, inputs[:week]), "-o", str(base),
                        *extra], check=True, capture_output=True)  # fmt: skip
        got: dict[str, list] = {"kept": [], "whole": [], "floor": []}
        for _ in range(args.runs):
            for kind, head in (("kept", ["-m", "digest2feed"]), ("whole", ["-c", WHOLE])):
                out = work / kind
                shutil.rmtree(out, ignore_errors=True)
                shutil.copytree(base, out)
                cmd = [sys.executable, *head, "update", str(inputs[week]), "-o", str(out), *extra]
                got[kind].append(measured(cmd))
            got["floor"].append(measured([sys.executable, str(HERE / "floor.py"), str(work / "kept")]))
        assert subprocess.run(["diff", "-r", str(work / "kept"), str(work / "whole")]).returncode == 0
        wall = {k: statistics.median(m[0] for m in v) for k, v in got.items()}
        cpu = {k: statistics.median(m[2] for m in v) for k, v in got.items()}
        mem = {k: max(m[1] for m in v) for k, v in got.items()}
        saved = 1 - wall["kept"] / wall["whole"]
        print(f"{args.size} papers, {label}, {inputs[week].name}: kept {wall['kept']:.2f} s ({cpu['kept']:.2f} s CPU, "
              f"{mem['kept']:.0f} MB, {wall['kept'] / wall['floor']:.1f}× the floor), whole {wall['whole']:.2f} s "
              f"({cpu['whole']:.2f} s CPU, {mem['whole']:.0f} MB, {wall['whole'] / wall['floor']:.1f}×), "
              f"floor {wall['floor']:.2f} s: saves {saved:.0%}", flush=True)  # fmt: skip
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
