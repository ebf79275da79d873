"""What a newcomer met when following the README (notes/newcomer.md), each as the user sees it."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

import feedparser
from lxml import etree

from conftest import ROOT, SAMPLE, need_tool, run_cli, snapshot

README = (ROOT / "README.md").read_text(encoding="utf-8")
STAMP = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d"
JOURNAL = "https://jmlr.org/tmlr/"


def log_lines(log: Path) -> list[str]:
    """The log's lines without their time stamps (each checked to have one)."""
    lines = log.read_text().splitlines()
    assert all(re.match(STAMP + " ", line) for line in lines), lines
    return [line.split(" ", 1)[1] for line in lines]


# ---------------------------------------------------------------- update with nothing to read and no state


def test_update_without_input_or_state_is_refused_and_writes_nothing(tmp_path, monkeypatch):
    """A mistyped -o (or a cron job in the wrong folder) used to publish empty feeds with exit 0."""
    monkeypatch.chdir(tmp_path)  # no digest2feed.toml here
    typo = tmp_path / "typo_out"
    for quiet in ([], ["-q"]):  # an error, so -q does not hide it
        r = run_cli("update", "-o", typo, *quiet)
        assert (r.code, r.out, r.err) == (
            1,
            "",
            f"digest2feed: {typo / 'atom.xml'}: no feeds here to regenerate, and no INPUT and no `inputs` "
            "setting to read; nothing was written (check -o and the working folder)\n",
        )
    r = run_cli("update", "--regenerate")  # the default output/, which does not exist here either
    assert (r.code, r.err) == (
        1,
        f"digest2feed: {Path('output') / 'atom.xml'}: no feeds here to regenerate; nothing was written "
        "(check -o and the working folder)\n",
    )
    assert list(tmp_path.iterdir()) == []  # neither typo_out/ nor output/, not even a lock


def test_update_without_input_still_regenerates_an_existing_state(out):
    assert run_cli("update", SAMPLE, "-o", out).code == 0
    before = snapshot(out)
    (out / "index.html").unlink()
    r = run_cli("update", "-o", out, "-v")
    assert r.code == 0 and r.err == "" and "files written: 1" in r.out
    assert snapshot(out) == before


def test_help_and_readme_say_that_a_run_without_input_or_state_is_refused():
    help_text = " ".join(run_cli("update", "--help").out.split())
    rule = "regenerate every output from the state (refused, exit 1, when DIR holds no atom.xml yet)"
    assert help_text.count(rule) == 2  # INPUT left out, and --regenerate
    readme = " ".join(README.split())
    assert "If `DIR` holds no `atom.xml` yet, such a run is refused (exit 1, nothing written, also with `-q`)" in readme


def test_the_refusal_is_in_the_log(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "digest2feed.toml").write_text('log_file = "run.log"\noutput = "typo"\n')
    assert run_cli("update", "-q").code == 1
    assert log_lines(tmp_path / "run.log") == [
        "update failed: typo/atom.xml: no feeds here to regenerate, and no INPUT and no `inputs` setting to read;"
        " nothing was written; inputs: (none: regenerated from the state)"
    ]


# ---------------------------------------------------------------- settings and usage failures in log_file


def test_a_bad_settings_file_is_logged_when_its_log_file_is_good(tmp_path, out):
    log = tmp_path / "run.log"
    cfg = tmp_path / "d.toml"
    cfg.write_text(f'log_file = "{log}"\noutput = "{out}"\nbase-url = "https://example.org/"\n')
    r = run_cli("update", SAMPLE, "-c", cfg, "-q")
    line = f"{cfg}: unknown setting 'base-url' (did you mean 'base_url'?)"
    assert (r.code, r.err) == (1, f"digest2feed: {line}\n")
    assert log_lines(log) == [f"update failed: {line}; inputs: {SAMPLE}"]
    assert not out.exists()


def test_a_bad_flag_value_is_logged_and_still_exits_2(tmp_path, out):
    log = tmp_path / "run.log"
    cfg = tmp_path / "d.toml"
    cfg.write_text(f'log_file = "{log}"\noutput = "{out}"\ninputs = ["{SAMPLE}"]\n')
    r = run_cli("update", "-c", cfg, "--max-entries", "abc")
    line = "--max-entries: max_entries must be a positive integer (got 'abc')"
    assert (r.code, r.err) == (2, f"digest2feed: {line}\n")
    assert log_lines(log) == [f"update failed: {line}; inputs: {SAMPLE}"]  # the inputs setting it would have read


def test_a_bad_log_file_value_logs_nothing_and_no_secret_reaches_the_log(tmp_path):
    """A secret in a bad setting never reaches stderr, so never the log either."""
    log = tmp_path / "run.log"
    cfg = tmp_path / "d.toml"
    cfg.write_text(f'log_file = "{log}"\ninputs = ["imaps://u:pw-in-url@h/INBOX"]\n[imap]\npassword_command = 7\n')
    r = run_cli("update", "-c", cfg)
    assert r.code == 1 and "pw-in-url" not in r.err
    text = log.read_text()
    assert len(text.splitlines()) == 1 and "pw-in-url" not in text and "<hidden>" in text
    assert "a password in the URL is refused" in text
    before = sorted(tmp_path.iterdir())
    cfg.write_text('log_file = 7\nbase-url = "x"\n')  # no path to log to: stderr only
    r = run_cli("update", "-c", cfg)
    assert r.code == 1 and len(r.err.splitlines()) == 2
    assert sorted(tmp_path.iterdir()) == before and len(log.read_text().splitlines()) == 1


# ---------------------------------------------------------------- usage errors show update's usage


def test_usage_errors_of_a_command_show_that_commands_usage():
    for args, message in (
        (["update", "--regenerate", str(SAMPLE)], "--regenerate reads no input: give INPUTs or --regenerate, not both"),
        (["update", str(SAMPLE), "--bogus"], "unrecognized arguments: --bogus"),
        (["feeds", "--bogus"], "unrecognized arguments: --bogus"),
    ):
        r = run_cli(*args)
        command = args[0]
        assert r.code == 2, args
        assert r.err.startswith(f"usage: digest2feed {command} [-h]"), r.err
        assert r.err.splitlines()[-1] == f"digest2feed {command}: error: {message}"


# ---------------------------------------------------------------- html = false links to no missing page


def urls_into(folder: Path, base: str) -> dict[str, str]:
    """Every address under ``base`` that any written file holds, with the file it would be served as."""
    found = {}
    for path, data in snapshot(folder).items():
        for m in re.finditer(re.escape(base) + r'([^"<>\s]*)', data.decode()):
            rel = m.group(1)
            found[f"{path} -> {base}{rel}"] = rel + "index.html" if rel == "" or rel.endswith("/") else rel
    return found


def test_without_the_page_no_file_points_to_it(tmp_path, out):
    base = "https://feeds.example.org/tmlr/"
    cfg = tmp_path / "d.toml"
    cfg.write_text(f'base_url = "{base}"\nhtml = false\n')
    assert run_cli("update", SAMPLE, "-c", cfg, "-o", out).code == 0
    assert not (out / "index.html").exists()
    missing = {where: rel for where, rel in urls_into(out, base).items() if not (out / rel).is_file()}
    assert missing == {}
    outlines = etree.parse(str(out / "feeds.opml")).getroot().iter("outline")
    assert {o.get("htmlUrl") for o in outlines} == {JOURNAL}
    assert feedparser.parse(out / "atom.xml").feed.link == JOURNAL
    # With the page, the same check passes and the links go to it: the check can see a link to the page.
    cfg.write_text(f'base_url = "{base}"\n')
    assert run_cli("update", "-c", cfg, "-o", out).code == 0
    found = urls_into(out, base)
    assert f"feeds.opml -> {base}" in found and all((out / rel).is_file() for rel in found.values())


# ---------------------------------------------------------------- archive/ emptied by a wider window


def test_an_archive_folder_emptied_by_a_wider_window_is_removed(tmp_path):
    narrow, wide = tmp_path / "narrow", tmp_path / "wide"
    assert run_cli("update", SAMPLE, "-o", narrow, "--max-entries", "5").code == 0
    assert [p.name for p in (narrow / "archive").iterdir()] == ["2023-04.xml"]
    r = run_cli("update", "-o", narrow, "--max-entries", "500", "-v")
    assert r.code == 0 and "entries in the feed: 24" in r.out
    assert not (narrow / "archive").exists()
    assert run_cli("update", SAMPLE, "-o", wide).code == 0
    assert snapshot(narrow) == snapshot(wide)  # what a run with the wide window from the start gives
    assert sorted(p.relative_to(narrow) for p in narrow.rglob("*")) == sorted(
        p.relative_to(wide) for p in wide.rglob("*")
    )


# ---------------------------------------------------------------- the lock's mode


def test_the_lock_is_created_private_whatever_the_umask(out):
    old = os.umask(0o022)
    try:
        assert run_cli("update", SAMPLE, "-o", out).code == 0
    finally:
        os.umask(old)
    assert stat.S_IMODE((out / ".digest2feed.lock").stat().st_mode) == 0o600
    assert oct(stat.S_IMODE((out / "atom.xml").stat().st_mode)) == "0o644"  # the feeds stay readable
    assert "the lock, created 0600" in " ".join(README.split())


# ---------------------------------------------------------------- make clean


def test_make_clean_removes_exactly_what_digest2feed_wrote(tmp_path):
    """A copy of the Makefile in a scratch folder (so .venv here is not removed), an output/ written
    by digest2feed with everything it can write, and files of the user's own beside them."""
    make = need_tool("make")
    shutil.copy(ROOT / "Makefile", tmp_path / "Makefile")
    out = tmp_path / "output"
    cfg = tmp_path / "d.toml"
    cfg.write_text('[[feeds]]\nname = "privacy"\nmatch = ["privacy"]\n')
    assert run_cli("update", SAMPLE, "-c", cfg, "-o", out, "--max-entries", "5").code == 0
    assert {"feeds.opml", "privacy/atom.xml", "archive/2023-04.xml", "index.html"} <= set(snapshot(out))
    (out / ".digest2feed.pending").write_bytes(b"")  # a run caught mid-commit (constructed)
    (out / ".digest2feed.imap.json").write_text("{}\n")  # an IMAP checkpoint (constructed)
    (out / ".digest2feed.websub.json").write_text('{"version": 1, "owed": {}}\n')  # owed hub pings (constructed)
    (out / "archive" / ".2023-05.xml.abc.d2f-tmp").write_text("half")  # a killed run's temporary (constructed)
    mine = {".gitkeep": "", "notes.txt": "mine\n", "mine/index.html": "<html>my page</html>\n"}
    for rel, text in mine.items():
        (out / rel).parent.mkdir(exist_ok=True)
        (out / rel).write_text(text)
    r = subprocess.run([make, "-s", "-C", str(tmp_path), "clean"], capture_output=True, text=True)
    assert (r.returncode, r.stderr) == (0, "")
    left = {p.relative_to(out).as_posix(): p.read_text() for p in out.rglob("*") if p.is_file()}
    assert left == mine
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_dir()) == ["mine"]


# ---------------------------------------------------------------- the README a newcomer follows


def test_readme_starts_with_make_then_says_where_to_clone():
    lines = README.splitlines()
    assert lines[:4] == ["```sh", lines[1], lines[2], "```"] and lines[1].startswith("make run ")
    assert lines[2].startswith("make test ")
    clone = "git clone https://github.com/digest2feed/digest2feed ~/digest2feed && cd ~/digest2feed"
    assert clone in README and README.index(clone) < README.index("## Install")
    install = README[README.index("## Install") : README.index("## Use")]
    assert install.index("pipx install .") < install.index("pipx install digest2feed")
    assert "not on PyPI yet" in install


def test_readme_log_example_is_what_a_first_run_logs(tmp_path, out):
    log = tmp_path / "run.log"
    cfg = tmp_path / "d.toml"
    cfg.write_text(f'log_file = "{log}"\noutput = "{out}"\n')
    assert run_cli("update", "-", "-c", cfg, "-q", stdin=SAMPLE.read_bytes()).code == 0
    (line,) = log_lines(log)
    assert f"+00:00 {line}\n" in README  # the first example line, as this run wrote it


def test_every_pages_upload_in_the_readme_leaves_the_dot_files_home():
    """Each workflow uploads a copy of output/ from which a step before it deleted every dot file
    (test_action.py runs that step); the upload's own option for hidden files stays off."""
    blocks = re.findall(r"```yaml\n(.*?)```", README, re.S)
    uploads = [b for b in blocks if "upload-pages-artifact" in b]
    assert len(uploads) == 2
    for block in uploads:
        before, after = block.split("upload-pages-artifact")
        assert "cp -R output _site\n          find _site -name '.*' -print -delete\n" in before, block
        assert after.split("\n      - ")[0].endswith("with:\n          path: _site"), block
        assert "include-hidden-files" not in block


def test_readme_says_which_tests_make_test_skips_and_what_installs_them():
    text = " ".join(README[: README.index("## Install")].split())
    assert "`make test` skips each test whose program is missing, unless `CI` is set, when it fails instead" in text
    ci = (ROOT / ".ci" / "run").read_text()
    packages = re.search(r"PACKAGES=\((.*?)\)", ci).group(1).split()
    for package in packages:  # every program .ci/run installs is named (dovecot-imapd as dovecot)
        assert package.split("-")[0] in text, package
    assert "`.ci/run` (Debian or Ubuntu, as root) installs them and then runs `make test`" in text
