"""digest2feed benchmark: backfill, incremental update, no-op rerun and --help, beside the floor.

    make bench                      # 1,000, 10,000 and 50,000 papers, 3 runs each
    python bench/run.py 1000 --runs 5

Each figure is the median of several runs of a fresh process, timed by wall clock;
peak memory is the larger of the child's max RSS (wait4) and its process tree's
peak summed PSS. The floor (bench/floor.py) is measured
in the same run, on the same files, right after the figure it is compared with.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORK = HERE / "work"
D2F = [sys.executable, "-m", "digest2feed"]


def timed(cmd: list[str]) -> tuple[float, float]:
    """(wall seconds, peak memory in MB) of one child process."""
    return measured(cmd)[:2]


def measured(
    cmd: list[str], env: dict[str, str] | None = None, codes: tuple[int, ...] = (0,)
) -> tuple[float, float, float]:
    """(wall seconds, peak memory in MB, CPU seconds: user + system) of one child process and
    the processes it starts. CPU time barely moves when other work shares the machine; wall
    time does. Memory is the larger of the biggest process's max RSS (wait4) and the peak of
    the summed PSS of the whole process tree, sampled every 50 ms (wait4 reports only the
    largest process of a tree)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    done = threading.Event()
    peak = [0]

    def sample() -> None:
        while not done.wait(0.05):
            peak[0] = max(peak[0], tree_pss_kb(proc.pid))

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        _, status, usage = os.wait4(proc.pid, 0)
    finally:
        done.set()
        sampler.join()
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) not in codes:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{proc.stderr.read().decode()}")
    return wall, max(usage.ru_maxrss, peak[0]) / 1024, usage.ru_utime + usage.ru_stime


def tree_pss_kb(root: int) -> int:
    """Summed PSS (shared pages divided among the processes mapping them) of ``root`` and its descendants."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                ppid = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        todo += children.get(pid, [])
        try:
            rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
        except OSError:
            continue
        total += next((int(line.split()[1]) for line in rollup.splitlines() if line.startswith("Pss:")), 0)
    return total


def median(runs: list[tuple[float, float]]) -> tuple[float, float]:
    return statistics.median(w for w, _ in runs), max(m for _, m in runs)


def tree_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def bench(papers: int, runs: int, feeds: int = 0) -> dict:
    work = WORK / str(papers)
    shutil.rmtree(work, ignore_errors=True)
    # Generated in a child: the parent stays small, and a child's max RSS counts the
    # parent's pages it was forked with, before exec.
    subprocess.run([sys.executable, str(HERE / "generate.py"), str(papers), str(work / "in")], check=True)
    inputs = sorted((work / "in").glob("*.txt"))
    history, last = inputs[:-1], inputs[-1]
    digests = sum(1 for _ in history)
    out = work / "out"

    def floor() -> list[tuple[float, float]]:
        return [timed([sys.executable, str(HERE / "floor.py"), str(out)]) for _ in range(runs)]

    backfill = []
    for _ in range(runs):
        shutil.rmtree(out, ignore_errors=True)
        backfill.append(timed([*D2F, "update", str(work / "in"), "-o", str(out)]))
    shutil.rmtree(out)
    # The history without its last digest, then that digest as this week's run.
    assert timed([*D2F, "update", *map(str, history), "-o", str(out)])
    base = work / "base"
    shutil.copytree(out, base)
    floor_before = floor()
    incremental = []
    for _ in range(runs):
        shutil.rmtree(out)
        shutil.copytree(base, out)
        incremental.append(timed([*D2F, "update", str(last), "-o", str(out)]))
    noop = [timed([*D2F, "update", str(last), "-o", str(out)]) for _ in range(runs)]
    floor_after = floor()
    help_ = [timed([*D2F, "--help"]) for _ in range(max(runs, 5))]
    if feeds:
        with_feeds = own_feeds(work, inputs, runs, feeds)
    result = {
        "papers": papers,
        "digests": digests + 1,
        "input_mb": round(sum(p.stat().st_size for p in inputs) / 1e6, 1),
        "output_mb": round(tree_size(out) / 1e6, 1),
        "files": sum(1 for p in out.rglob("*") if p.is_file()),
        "backfill_s": median(backfill)[0],
        "backfill_papers_per_s": papers / median(backfill)[0],
        "backfill_rss_mb": median(backfill)[1],
        "floor_s": median(floor_before)[0],
        "incremental_s": median(incremental)[0],
        "incremental_rss_mb": median(incremental)[1],
        "noop_s": median(noop)[0],
        "noop_rss_mb": median(noop)[1],
        "floor_after_s": median(floor_after)[0],
        "floor_rss_mb": median(floor_before)[1],
        "help_s": median(help_)[0],
    }
    result["incremental_x_floor"] = result["incremental_s"] / result["floor_s"]
    result["noop_x_floor"] = result["noop_s"] / result["floor_after_s"]
    result["backfill_x_floor"] = result["backfill_s"] / result["floor_after_s"]
    if feeds:
        result |= with_feeds
    shutil.rmtree(base)
    return result


def own_feeds(work: Path, inputs: list[Path], runs: int, count: int) -> dict:
    """Incremental and no-op runs with ``count`` feeds of your own (bench/feeds.py) and without,
    alternately, so both see the same machine. The digest added is the history's last full
    week (the last one with new submissions: the generator's final digests only drain the
    acceptances and hold a paper or two), so the feeds of your own do get new entries."""
    from feeds import toml

    cfg = work / "feeds.toml"
    cfg.write_text(toml(count), encoding="utf-8")
    week = max(i for i, p in enumerate(inputs) if "\nNew submissions\n" in p.read_text(encoding="utf-8"))
    history, last = inputs[:week], inputs[week]
    plain, own = work / "out-plain", work / "out-feeds"
    base, base_f = work / "base-plain", work / "base-feeds"
    for folder, start, extra in ((plain, base, []), (own, base_f, ["-c", str(cfg)])):
        shutil.rmtree(folder, ignore_errors=True)
        timed([*D2F, "update", *map(str, history), "-o", str(folder), *extra])
        shutil.copytree(folder, start)
    pairs = {"incremental": ([], []), "noop": ([], [])}
    for _ in range(runs):
        for folder, start, extra, i in ((plain, base, [], 0), (own, base_f, ["-c", str(cfg)], 1)):
            shutil.rmtree(folder)
            shutil.copytree(start, folder)
            pairs["incremental"][i].append(measured([*D2F, "update", str(last), "-o", str(folder), *extra]))
            pairs["noop"][i].append(measured([*D2F, "update", str(last), "-o", str(folder), *extra]))
    shutil.rmtree(base)
    shutil.rmtree(base_f)
    files = sum(1 for p in own.rglob("*") if p.is_file())
    result: dict = {"feeds": count, "feeds_digest": last.name, "feeds_files": files}
    for kind, (without, with_) in pairs.items():
        result[f"{kind}_without_feeds_s"] = median([r[:2] for r in without])[0]
        result[f"{kind}_feeds_s"], result[f"{kind}_feeds_rss_mb"] = median([r[:2] for r in with_])
        result[f"{kind}_feeds_x"] = result[f"{kind}_feeds_s"] / result[f"{kind}_without_feeds_s"]
        result[f"{kind}_without_feeds_cpu_s"] = statistics.median(r[2] for r in without)
        result[f"{kind}_feeds_cpu_s"] = statistics.median(r[2] for r in with_)
        result[f"{kind}_feeds_cpu_x"] = result[f"{kind}_feeds_cpu_s"] / result[f"{kind}_without_feeds_cpu_s"]
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("sizes", nargs="*", type=int, default=[1000, 10000, 50000])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--feeds", type=int, default=0, help="also time runs with this many feeds of your own (max 20)")
    ap.add_argument("--feeds-only", action="store_true", help="with --feeds: only those runs, not the table")
    args = ap.parse_args()
    if args.feeds_only:
        for size in args.sizes:
            work = WORK / str(size)
            shutil.rmtree(work, ignore_errors=True)
            subprocess.run([sys.executable, str(HERE / "generate.py"), str(size), str(work / "in")], check=True)
            r = own_feeds(work, sorted((work / "in").glob("*.txt")), args.runs, args.feeds)
            print(json.dumps({"papers": size, **r}, indent=2), flush=True)
        return
    rows = []
    print(f"{'papers':>7} {'digests':>7} {'out MB':>7} | {'backfill':>16} {'RSS':>6} | {'floor':>6} | "
          f"{'incremental':>15} {'RSS':>6} | {'no-op':>14} {'RSS':>6} | {'--help':>6}")  # fmt: skip
    for size in args.sizes:
        r = bench(size, args.runs, args.feeds)
        rows.append(r)
        print(
            f"{r['papers']:>7} {r['digests']:>7} {r['output_mb']:>7.1f} | "
            f"{r['backfill_s']:>6.2f} s {r['backfill_papers_per_s']:>5.0f}/s {r['backfill_rss_mb']:>4.0f}MB | "
            f"{r['floor_s']:>4.2f} s | "
            f"{r['incremental_s']:>5.2f} s {r['incremental_x_floor']:>4.1f}× {r['incremental_rss_mb']:>4.0f}MB | "
            f"{r['noop_s']:>5.2f} s {r['noop_x_floor']:>4.1f}× {r['noop_rss_mb']:>4.0f}MB | {r['help_s']:>4.2f} s",
            flush=True,
        )
        if args.feeds:
            print(
                f"{'':>7} {r['feeds']} feeds of your own, adding {r['feeds_digest']}:"
                f" incremental {r['incremental_without_feeds_s']:.2f} s →"
                f" {r['incremental_feeds_s']:.2f} s ({r['incremental_feeds_x']:.2f}×), no-op"
                f" {r['noop_without_feeds_s']:.2f} s → {r['noop_feeds_s']:.2f} s ({r['noop_feeds_x']:.2f}×),"
                f" max RSS {max(r['incremental_feeds_rss_mb'], r['noop_feeds_rss_mb']):.0f} MB; CPU time:"
                f" incremental {r['incremental_without_feeds_cpu_s']:.2f} s → {r['incremental_feeds_cpu_s']:.2f} s"
                f" ({r['incremental_feeds_cpu_x']:.2f}×), no-op {r['noop_without_feeds_cpu_s']:.2f} s →"
                f" {r['noop_feeds_cpu_s']:.2f} s ({r['noop_feeds_cpu_x']:.2f}×)",
                flush=True,
            )
    (WORK / "results.json").write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
