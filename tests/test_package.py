"""The package as it would be published: a wheel with its license and metadata, installed in a
fresh environment and run from outside the repository."""

from __future__ import annotations

import email
import email.policy
import json
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

from conftest import ROOT, SAMPLE

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def test_license_file_matches_the_declared_license():
    assert PYPROJECT["license"] == "MIT"
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License\n") and "Permission is hereby granted, free of charge" in text
    assert PYPROJECT["authors"] and {"Homepage", "Source", "Issues"} <= set(PYPROJECT["urls"])


def test_readme_is_the_package_page():
    readme = (ROOT / "README.md").read_text()
    assert readme.startswith("```sh\nmake run ") and readme.split("\n")[2].startswith("make test ")
    assert "pipx install digest2feed" in readme and "pip install digest2feed" in readme
    assert "/dist/" in (ROOT / ".gitignore").read_text().split("\n")


def test_wheel_installs_in_a_fresh_environment_and_runs(tmp_path):
    dist = tmp_path / "dist"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    r = subprocess.run([*pip, "wheel", "--no-deps", "-q", "-w", str(dist), str(ROOT)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    (wheel,) = dist.glob("digest2feed-*.whl")
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        meta = email.message_from_bytes(
            z.read(next(n for n in names if n.endswith(".dist-info/METADATA"))), policy=email.policy.compat32
        )
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert not any(n.startswith(("tests/", "bench/", "contrib/")) for n in names)
    assert "digest2feed/render/search.js" in names  # package data: the search of index.html
    assert meta["License-Expression"] == "MIT"
    assert {u.split(",")[0] for u in meta.get_all("Project-URL")} == {"Homepage", "Source", "Issues"}
    assert meta["Author"] or meta["Author-email"]
    assert "pipx install digest2feed" in meta.get_payload()  # the README is the long description

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    # The dependencies come from the index (pip's cache, after `make`): a plain install as a user would do.
    r = subprocess.run([*pip, "--python", str(venv / "bin" / "python"), "install", "-q", str(wheel)],
                       capture_output=True, text=True)  # fmt: skip
    assert r.returncode == 0, r.stderr
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    r = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import digest2feed; print(digest2feed.__file__)"],
        cwd=elsewhere, capture_output=True, text=True,
    )  # fmt: skip
    assert Path(r.stdout.strip()).is_relative_to(venv), r.stdout  # the installed copy, not the repository's
    r = subprocess.run(
        [str(venv / "bin" / "digest2feed"), "update", str(SAMPLE), "-o", "site", "-v"],
        cwd=elsewhere, capture_output=True, text=True,
    )  # fmt: skip
    assert (r.returncode, r.stderr) == (0, ""), r.stderr
    assert "entries in the feed: 24" in r.stdout
    assert len(json.loads((elsewhere / "site" / "feed.json").read_bytes())["items"]) == 24
    code = (elsewhere / "site" / "search.js").read_text()
    assert "window.digest2feed = " in code and code.endswith(" -->\n")  # the installed copy's search
