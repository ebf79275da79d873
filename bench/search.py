"""The search of index.html in Chromium: how big its index is, and how fast it answers.

    python bench/search.py [PAPERS] [--runs N]     # default 10,000 papers, 5 runs

Makes the history with generate.py (bench/work/PAPERS/in, the files run.py uses), writes
the site with one backfill, then opens index.html in headless Chromium (driven over the
DevTools protocol by tests/browser.py) and measures, inside the page:

- first use: from the first keystroke's input event to the results shown (the index loaded
  by its <script>, parsed, every paper's words folded, the first query answered);
- each query after that: from setting the box's text and firing its input event to the
  results in the page and laid out (``offsetHeight`` forces the layout), median and worst
  over every run of every query.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "tests"))

from generate import write_history  # noqa: E402
from run import D2F  # noqa: E402

from browser import Browser  # noqa: E402

# A title word, a common author, an accented author, a certification, two words, a prefix,
# a word no paper has, a whole title's worth of words.
QUERIES = ["fairness", "pineau", "clément", "featured", "privacy learning", "gen", "zzzqqq",
           "differentially private image classification from features"]  # fmt: skip

FIRST = """new Promise(done => {
  const box = document.getElementById("q"), results = document.getElementById("results");
  const t0 = performance.now();
  new MutationObserver((_, seen) => {
    if (results.querySelector("ol")) { seen.disconnect(); results.offsetHeight; done(performance.now() - t0); }
  }).observe(results, {childList: true, subtree: true});
  box.value = %s;
  box.dispatchEvent(new Event("focus"));
  box.dispatchEvent(new Event("input"));
})"""

QUERY = """(() => {
  const box = document.getElementById("q"), results = document.getElementById("results");
  box.value = ""; box.dispatchEvent(new Event("input"));
  const t0 = performance.now();
  box.value = %s;
  box.dispatchEvent(new Event("input"));
  results.offsetHeight;
  return [performance.now() - t0, results.querySelector("p").textContent];
})()"""


def site(papers: int) -> Path:
    work = HERE / "work" / str(papers)
    inputs = work / "in"
    if not any(inputs.glob("*.txt")):
        write_history(inputs, papers)
    out = work / "site"
    shutil.rmtree(out, ignore_errors=True)
    subprocess.run([*D2F, "update", str(inputs), "-o", str(out), "-q"], check=True)
    return out


def measure(out: Path, runs: int) -> dict:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        raise SystemExit("Chromium is not installed (apt-get install chromium)")
    profile = HERE / "work" / "chromium-profile"
    shutil.rmtree(profile, ignore_errors=True)
    first, times, found = [], {q: [] for q in QUERIES}, {}
    for _ in range(runs):
        b = Browser(chromium, profile, 1280)
        try:
            b.load((out / "index.html").as_uri())
            first.append(b.send("Runtime.evaluate", expression=FIRST % json.dumps("learning"), awaitPromise=True,
                                returnByValue=True)["result"]["value"])  # fmt: skip
            for q in QUERIES:
                for _ in range(5):
                    ms, said = b.eval(QUERY % json.dumps(q))
                    times[q].append(ms)
                    found[q] = said
            assert b.problems() == [], b.problems()
        finally:
            b.close()
    every = [t for ts in times.values() for t in ts]
    return {
        "index_bytes": (out / "search-index.js").stat().st_size,
        "code_bytes": (out / "search.js").stat().st_size,
        "first_use_ms": statistics.median(first),
        "first_use_max_ms": max(first),
        "query_median_ms": statistics.median(every),
        "query_max_ms": max(every),
        "per_query": {q: [round(statistics.median(ts), 2), round(max(ts), 2), found[q]] for q, ts in times.items()},
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("papers", nargs="?", type=int, default=10000)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    out = site(args.papers)
    print(
        json.dumps({"papers": args.papers, "runs": args.runs, **measure(out, args.runs)}, indent=2, ensure_ascii=False)
    )


if __name__ == "__main__":
    main()
