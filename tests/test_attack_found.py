"""What an outside attack run of issue 19's code found (2026-12-02): each test fails on that code.

Every test starts from a good output folder (or a fresh one) and an input constructed here,
runs digest2feed as a user would, and checks what the README promises: a hard link is
never written through, no FIFO holds a run, one clear line naming the path, another
output folder inside ours is left alone, and memory for any single input stays under
300 MB (README "Limits", BENCHMARKS.md). Runs that could hang or take all memory run as a
child process under a timeout and an address-space limit, so a failure here is quick and
never harms the machine.
"""

from __future__ import annotations

import mailbox
import os
import resource
import subprocess
import time
from email.message import EmailMessage
from pathlib import Path

import pytest

from conftest import FIXTURES, SAMPLE, console_script, run_cli

DAILY = FIXTURES / "daily-2025-11-06.txt"
SAMPLE_TEXT = SAMPLE.read_text(encoding="utf-8")
SUBJECT = "Weekly TMLR digest for Apr 30, 2023"
MB = 1024 * 1024
LIMIT = 300 * MB  # README: memory for any single input stays under 300 MB
ADDRESS_SPACE = 1536 * MB  # the child's ceiling: an input that needs more fails fast, never the machine


@pytest.fixture
def site(tmp_path: Path) -> Path:
    """A good output folder with archives (a window of 5)."""
    ours = tmp_path / "ours"
    assert run_cli("update", SAMPLE, "-o", ours, "--max-entries", "5").code == 0
    assert (ours / "archive" / "2023-04.xml").is_file()
    return ours


def measured(
    args: list[str | Path], tmp: Path, timeout: float = 120, env: dict | None = None
) -> tuple[int | None, str, int]:
    """Run the installed command as a child capped at ADDRESS_SPACE: (exit code, or None when it was
    still running at ``timeout`` and was killed; stderr; the peak RSS of this one process, from wait4)."""
    err = tmp / "child.err"

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))

    with err.open("wb") as f:
        p = subprocess.Popen(
            [str(console_script()), *map(str, args)], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=f, preexec_fn=cap, env=env,
        )  # fmt: skip
        code: int | None = None
        deadline = time.monotonic() + timeout
        while True:
            pid, status, usage = os.wait4(p.pid, os.WNOHANG)
            if pid:
                code = os.waitstatus_to_exitcode(status)
                break
            if time.monotonic() > deadline:
                p.kill()
                _, _, usage = os.wait4(p.pid, 0)
                break
            time.sleep(0.05)
        p.returncode = code if code is not None else -9  # reaped here: Popen must not wait again
    return code, err.read_text(errors="replace"), usage.ru_maxrss * 1024


def one_line(err: str) -> None:
    assert "Traceback" not in err and "MemoryError" not in err, err[-2000:]
    assert len(err.splitlines()) <= 1, err[-2000:]


# ---------------------------------------------------------------- hard links


def test_a_hard_linked_pending_marker_never_truncates_the_file_it_shares(tmp_path, site):
    """README: "Hard links to outside files are replaced by the rename, never written through".
    The marker is opened with O_TRUNC: a run that changes files emptied the outside file."""
    outside = tmp_path / "precious.txt"
    outside.write_bytes(b"another program's data\n")
    os.link(outside, site / ".digest2feed.pending")
    run_cli("update", DAILY, "-o", site, "--max-entries", "5")
    assert outside.read_bytes() == b"another program's data\n"


# ---------------------------------------------------------------- FIFOs


def maildir_with(tmp_path: Path, *messages: EmailMessage) -> Path:
    box = mailbox.Maildir(tmp_path / "Mail", create=True)
    for m in messages:
        box.add(m)
    return tmp_path / "Mail"


def sample_mail() -> EmailMessage:
    m = EmailMessage()
    m["From"], m["Subject"], m["Date"] = "tmlr@example.org", SUBJECT, "Sat, 29 Apr 2023 20:00:18 -0400"
    m.set_content(SAMPLE_TEXT)
    return m


def test_a_fifo_in_a_maildir_is_skipped_with_a_warning_never_waited_on(tmp_path):
    """README: inside a folder a FIFO "is skipped with a warning, never opened for a read that
    would wait forever". mailbox.Maildir lists it as a message and opens it: the run hangs."""
    folder = maildir_with(tmp_path, sample_mail())
    os.mkfifo(folder / "new" / "1700000000.fifo.host")
    out = tmp_path / "out"
    code, err, _ = measured(["update", folder, "-o", out], tmp_path, timeout=15)
    assert code == 0, f"still waiting after 15 s (exit {code}); stderr: {err!r}"
    assert len(err.splitlines()) == 1 and "warning" in err
    assert (out / "atom.xml").read_text().count("<entry>") == 24


@pytest.mark.parametrize(
    "rel",
    [
        "atom.xml",
        "archive/2023-04.xml",
        ".digest2feed.pending",
        ".digest2feed.imap.json",
        ".digest2feed.websub.json",
    ],
)
def test_a_fifo_at_a_path_of_the_output_folder_never_holds_the_run(tmp_path, site, rel):
    """refused() says why a FIFO is refused ("a FIFO would hold the run forever"), but only for
    the files a run plans, after the state and dot files were opened without O_NONBLOCK."""
    target = site / rel
    target.unlink(missing_ok=True)
    os.mkfifo(target)
    code, err, _ = measured(["update", DAILY, "-o", site, "--max-entries", "5"], tmp_path, timeout=15)
    assert code is not None, f"{rel}: the run was still waiting on the FIFO after 15 s"
    one_line(err)
    if code:
        assert err.startswith(f"digest2feed: {target}:"), err


def test_a_fifo_backup_during_a_pending_state_never_holds_the_run(tmp_path, site):
    (site / ".digest2feed.pending").touch()
    os.mkfifo(site / ".atom.xml.a1b2c3d4e5f6.d2f-old")
    code, err, _ = measured(["update", DAILY, "-o", site, "--max-entries", "5"], tmp_path, timeout=15)
    assert code is not None, "the run was still waiting on the FIFO after 15 s"
    one_line(err)


# ---------------------------------------------------------------- one line naming the path


@pytest.mark.parametrize("rel", ["atom.xml", "archive/2023-04.xml"])
def test_a_folder_where_a_state_file_belongs_is_named_in_the_line(tmp_path, site, rel):
    """It said `digest2feed: 4: cannot write: Is a directory; no file was changed`: the file
    descriptor's number instead of the path, and "write" for a read."""
    target = site / rel
    target.unlink()
    target.mkdir()
    r = run_cli("update", DAILY, "-o", site, "--max-entries", "5")
    assert r.code == 1
    assert r.err.startswith(f"digest2feed: {target}"), r.err


def test_a_run_refused_at_the_pending_marker_leaves_no_temporary_files(tmp_path, site):
    """store.commit: "A failure while writing ... removes the temporary files and changes nothing";
    a marker that cannot be opened left every rendered file behind as .*.d2f-tmp."""
    (site / ".digest2feed.pending").mkdir()
    r = run_cli("update", DAILY, "-o", site, "--max-entries", "5")
    assert r.code == 1
    assert sorted(p.name for p in site.rglob("*.d2f-tmp")) == []


# ---------------------------------------------------------------- another output folder inside ours


def test_another_output_folder_inside_ours_keeps_its_temporary_files_and_old_versions(tmp_path, site):
    """README: "another output folder kept inside this one (it has its own lock file), [is] left
    alone". Our run deleted its .d2f-tmp (a run there, under its own lock, is writing them)
    and its .d2f-old (the old versions its pending marker says the next run there needs)."""
    inner = site / "mirror"
    assert run_cli("update", SAMPLE, "-o", inner, "--max-entries", "3").code == 0
    (inner / ".digest2feed.pending").touch()  # as a run there left it, killed mid-commit
    os.link(inner / "atom.xml", inner / ".atom.xml.a1b2c3d4e5f6.d2f-old")
    (inner / ".rss.xml.x7y8z9.d2f-tmp").write_bytes(b"being written by the run in mirror/\n")
    r = run_cli("update", DAILY, "-o", site, "--max-entries", "5")
    assert r.code == 0, r.err
    assert (inner / ".atom.xml.a1b2c3d4e5f6.d2f-old").is_file()
    assert (inner / ".rss.xml.x7y8z9.d2f-tmp").read_bytes() == b"being written by the run in mirror/\n"


# ---------------------------------------------------------------- memory for one input


def _mail_head(extra: bytes = b"") -> bytes:
    return b"From: tmlr@example.org\nSubject: Weekly TMLR digest for May 07, 2023\n" + extra


def test_a_subject_of_many_encoded_words_stays_under_the_memory_limit(tmp_path):
    """10,000 RFC 2047 words (140 KB, far under 16 MiB): the email package's header parser copies
    the rest of the line for each word. 5,000 took 212 MB, 20,000 2.8 GB, and 16 MiB of them
    took all 24 GB of the machine until the kernel killed the run."""
    data = b"From: tmlr@example.org\nSubject: " + b"=?utf-8?q?a?= " * 10_000 + b"\n\n" + SAMPLE_TEXT.encode()
    (tmp_path / "words.eml").write_bytes(data)
    code, err, peak = measured(["update", tmp_path / "words.eml", "-o", tmp_path / "out"], tmp_path)
    one_line(err)
    assert code in (0, 1)
    assert peak < LIMIT, f"peak RSS {peak / MB:.0f} MB"


def test_a_message_of_many_tiny_mime_parts_stays_under_the_memory_limit(tmp_path):
    """150,000 empty parts, two deep (1 MB): one Message object each. 200,000 took 586 MB and 13 s;
    at the 16 MiB limit (2.4 million parts) 6.6 GB and 137 s."""
    head = _mail_head(b"MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n")
    first = b"--b\nContent-Type: text/plain\n\n" + SAMPLE_TEXT.encode() + b"\n"
    (tmp_path / "parts.eml").write_bytes(head + first + b"--b\n\nx\n" * 150_000 + b"--b--\n")
    code, err, peak = measured(["update", tmp_path / "parts.eml", "-o", tmp_path / "out"], tmp_path)
    one_line(err)
    assert code in (0, 1)
    assert peak < LIMIT, f"peak RSS {peak / MB:.0f} MB"


def test_a_message_of_millions_of_header_lines_at_the_size_limit_stays_under_the_memory_limit(tmp_path):
    """3.3 million `X: y` lines, just under 16 MiB: 621 MB."""
    from digest2feed.sources.items import MAX_TEXT  # noqa: PLC0415 (the limit the input sits at)

    body = SAMPLE_TEXT.encode()[:20_000]
    core = _mail_head()
    n = (MAX_TEXT - len(core) - len(body) - 2) // len(b"X: y\n")
    (tmp_path / "headers.eml").write_bytes(core + b"X: y\n" * n + b"\n" + body)
    code, err, peak = measured(["update", tmp_path / "headers.eml", "-o", tmp_path / "out"], tmp_path)
    one_line(err)
    assert code in (0, 1)
    assert peak < LIMIT, f"peak RSS {peak / MB:.0f} MB"


def test_a_password_command_that_never_stops_printing_is_one_line_and_bounded(tmp_path):
    """Only its first line is the password, but all its output was kept until `timeout`: `yes`
    took 3.9 GB in 5 s (stopped by the cap here) and ended in a MemoryError traceback."""
    home = tmp_path / "home"
    home.mkdir()
    (tmp_path / "d.toml").write_text('[imap]\npassword_command = "yes"\ntimeout = 8\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIGEST2FEED_")} | {"HOME": str(home)}
    args = ["update", "imaps://me@127.0.0.1:9/INBOX", "-o", tmp_path / "out", "-c", tmp_path / "d.toml"]
    code, err, peak = measured(args, tmp_path, timeout=60, env=env)
    one_line(err)
    assert code == 1
    assert peak < LIMIT, f"peak RSS {peak / MB:.0f} MB"


# ---------------------------------------------------------------- a link made after the check


def test_a_folder_swapped_for_a_link_after_the_check_is_still_never_followed(tmp_path, site, monkeypatch):
    """The links are checked by path (lstat) before rendering, then every file is written by path:
    a folder replaced by a link in between is followed. Found with a real race (1,000 feeds of
    your own, `f999/` swapped 0.55 s into a 2 s run): three feeds written into the outside folder
    and its mode changed from 0700 to 0755, exit 0. Here the swap is made at the start of the
    commit, which is inside that window (the files are rendered and written after it), so the
    test does not depend on timing."""
    from digest2feed import pipeline  # noqa: PLC0415 (the seam where the attacker acts)

    victim = tmp_path / "victim"
    victim.mkdir(mode=0o700)
    real_commit = pipeline.commit

    def attacker_then_commit(folder, files, stale, last):
        (folder / "accepted").rename(tmp_path / "accepted.moved")
        (folder / "accepted").symlink_to(victim)
        return real_commit(folder, files, stale, last)

    monkeypatch.setattr(pipeline, "commit", attacker_then_commit)
    run_cli("update", DAILY, "-o", site, "--max-entries", "5")
    assert sorted(p.name for p in victim.iterdir()) == []
    assert victim.stat().st_mode & 0o777 == 0o700
