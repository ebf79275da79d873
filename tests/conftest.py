from __future__ import annotations

import contextlib
import io
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import pytest

from digest2feed.cli import main
from digest2feed.merge import combine, records
from digest2feed.model import Digest, Record
from digest2feed.state import scan

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "examples" / "weekly-2023-04-30.txt"
FIXTURES = ROOT / "tests" / "fixtures"
sys.path.insert(0, str(ROOT / "tests"))


@dataclass
class Result:
    code: int
    out: str
    err: str


def run_cli(*args: str | Path, stdin: bytes = b"") -> Result:
    """Run the command line in this process, as a user would call it."""
    out, err = io.StringIO(), io.StringIO()
    old_stdin = sys.stdin
    sys.stdin = io.TextIOWrapper(io.BytesIO(stdin))
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main([str(a) for a in args])
            except SystemExit as e:
                code = int(e.code or 0)
    finally:
        sys.stdin = old_stdin
    return Result(code, out.getvalue(), err.getvalue())


def read_state(folder: Path) -> dict[str, Record]:
    """Every paper the state files hold, read back as the next run reads them."""
    return scan(folder, None).records


def merge(state: dict[str, Record], digests: list[Digest]) -> dict[str, Record]:
    """The digests folded into ``state``, as one run folds what it reads."""
    merged = dict(state)
    for digest in digests:
        combine(merged, records(digest))
    return merged


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every output file's bytes by relative path (the lock file aside)."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.name.startswith(".")
    }


def mtimes(folder: Path) -> dict[str, int]:
    return {p.relative_to(folder).as_posix(): p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()}


@pytest.fixture
def out(tmp_path: Path) -> Path:
    return tmp_path / "out"


def console_script() -> Path:
    """The installed `digest2feed` command beside this interpreter (`.venv/bin/digest2feed`),
    the one the README's cron lines and mail filters call."""
    for folder in (Path(sys.executable).parent, Path(sys.prefix) / "bin"):
        if (folder / "digest2feed").is_file():
            return folder / "digest2feed"
    pytest.fail(f"no digest2feed console script beside {sys.executable}: is the package installed (make test)?")


def need_tool(name: str, package: str | None = None) -> str:
    """The path of a program a test needs. Missing: a skip on a developer's machine, but a
    failure under CI, where .ci/run installs it, so a missing install step can never hide."""
    path = shutil.which(name) or next((str(p) for d in ("/usr/sbin", "/sbin") if (p := Path(d) / name).exists()), None)
    if path:
        return path
    machine_lacks(f"{name} is not installed (apt-get install {package or name})", ".ci/run must install it")


def machine_lacks(why: str, fix: str = "") -> NoReturn:
    """Stop a test this machine cannot run: a skip on a developer's machine, a failure
    with the reason under CI (CI set), so that a test never silently stops running there."""
    if os.environ.get("CI"):
        pytest.fail(f"CI is set but {why}" + (f": {fix}" if fix else ""))
    pytest.skip(why)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "long_run(variable): runs only when the environment variable is set")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Long runs are opt-in: unless their variable is set they are deselected (and counted as
    such), never skipped, so a skip in the summary always means something is missing."""
    off = [i for i in items if (m := i.get_closest_marker("long_run")) and not os.environ.get(m.args[0])]
    if off:
        config.hook.pytest_deselected(items=off)
        items[:] = [i for i in items if i not in off]
    # Long runs (a long_run variable, or FUZZ_EXAMPLES raised) may take hours: no per-test timeout.
    for item in items:
        if item.get_closest_marker("long_run") or os.environ.get("FUZZ_EXAMPLES"):
            item.add_marker(pytest.mark.timeout(0))
