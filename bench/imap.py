"""IMAP input benchmark: a folder of 1,000 messages (200 digests, 800 other mails) on a loopback Dovecot.

    make bench                      # runs this after run.py
    python bench/imap.py --runs 5

Figures, each the median of several fresh `digest2feed` processes:

- first run: every message of the folder into an empty output folder, beside the same
  1,000 messages from an mbox file and the 200 digests alone from an mbox file;
- after one new digest: the state of the other 199 (and its checkpoint), then the
  folder with the new digest added, beside `update new.eml` on the same state.

No memory figures: this script holds the messages, and a child's max RSS counts the
parent's pages it was forked with (bench/run.py generates in a child for that reason).
Bytes are what Dovecot says it sent in the run's session (its `out=` on logout),
beside the size of what had to be fetched. Needs dovecot-imapd and openssl (as for
the tests) and root (Dovecot's mail processes run as the user `mail`).
"""

from __future__ import annotations

import argparse
import json
import mailbox
import os
import random
import re
import shutil
import sys
import time
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import quote

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
sys.path.insert(0, str(HERE))

from generate import History  # noqa: E402
from run import D2F, median, timed  # noqa: E402

import dovecot  # noqa: E402  (tests/dovecot.py: the same server the tests start)
from mailgen import message  # noqa: E402

WORK = HERE / "work" / "imap"
FOLDER = "TMLR digests"
LOGOUT = re.compile(r"Logged out in=(\d+) out=(\d+)")


def other(n: int, rng: random.Random) -> bytes:
    """Ordinary mail of a few kilobytes: never a digest, never fetched."""
    msg = EmailMessage()
    msg["From"] = f"colleague{n % 17}@example.org"
    msg["To"] = "reader@example.org"
    msg["Subject"] = rng.choice(["Lunch?", "Re: draft", "Seminar on Thursday", "Reviews due", "Fwd: slides"])
    msg["Message-ID"] = f"<other-{n}@example.org>"
    msg.set_content(" ".join(rng.choice(["data", "model", "paper", "time", "review"]) for _ in range(700)) + "\n")
    return bytes(msg)


def sent_bytes(server: dovecot.Dovecot, start: int) -> int:
    """What the server sent in the sessions logged since ``start`` (an offset in its log)."""
    return sum(int(m.group(2)) for m in LOGOUT.finditer(server.log[start:]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    tools = [shutil.which(t) or f"/usr/sbin/{t}" for t in ("dovecot", "openssl")]
    if not all(os.path.exists(t) for t in tools) or os.geteuid() != 0:
        print("bench/imap.py: skipped (needs dovecot-imapd, openssl and root)")
        return
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    rng = random.Random(7)
    texts = [text for _, text in History(3).digests(20000)[:200]]
    digests = [message(t, t.split("\n", 1)[0], message_id=f"<bench-{i}@googlegroups.com>") for i, t in enumerate(texts)]
    newest = bytes(digests[-1])
    older = [bytes(d) for d in digests[:-1]]
    mails = older + [other(n, rng) for n in range(800)]
    rng.shuffle(mails)

    for name, items in (("all.mbox", [*mails, newest]), ("digests.mbox", [*older, newest]), ("base.mbox", mails)):
        box = mailbox.mbox(WORK / name)
        for data in items:
            box.add(data)
        box.flush()
    (WORK / "new.eml").write_bytes(newest)

    server = dovecot.start(*tools, name="bench")
    try:
        result = _measure(server, mails, newest, args.runs)
    finally:
        server.stop()
    result["digest_mb"] = round(sum(map(len, [*older, newest])) / 1e6, 1)
    result["new_digest_bytes"] = len(newest.replace(b"\n", b"\r\n"))
    result["load_average"] = os.getloadavg()[0]
    print(json.dumps(result, indent=2))
    (WORK / "results.json").write_text(json.dumps(result, indent=2) + "\n")


def _measure(server: dovecot.Dovecot, mails: list[bytes], newest: bytes, runs: int) -> dict:
    os.environ["DIGEST2FEED_IMAP_PASSWORD"] = dovecot.PASSWORD
    cfg = WORK / "digest2feed.toml"
    cfg.write_text(f'[imap]\nca_file = "{server.ca}"\n')
    url = f"imaps://{quote(dovecot.USER, safe='')}@127.0.0.1:{server.imaps_port}/{quote(FOLDER, safe='/')}"
    out = WORK / "out"
    imap = [*D2F, "update", url, "-o", str(out), "-c", str(cfg)]
    dovecot.append(server, FOLDER, mails)

    # Each round prepares both states the same way (a backfill run, then sync), then times the
    # run after one new digest: from the folder, and from a file. Rounds interleave the two,
    # so the machine's other load falls on both alike.
    incremental, inc_bytes, file_inc = [], [], []
    for _ in range(runs):
        shutil.rmtree(out, ignore_errors=True)
        timed(imap)  # the state of the 199 digests, and its checkpoint
        dovecot.append(server, FOLDER, [newest])
        os.sync()
        start = len(server.log)
        incremental.append(timed(imap))
        time.sleep(0.3)  # the log line of the session's end
        inc_bytes.append(sent_bytes(server, start))
        with dovecot.client(server) as c:  # take it out again for the next round
            c.select_folder(FOLDER)
            c.delete_messages(c.search(["HEADER", "Message-ID", "<bench-199@googlegroups.com>"]))
            c.expunge()
        shutil.rmtree(out)
        timed([*D2F, "update", str(WORK / "base.mbox"), "-o", str(out)])
        os.sync()
        file_inc.append(timed([*D2F, "update", str(WORK / "new.eml"), "-o", str(out)]))

    dovecot.append(server, FOLDER, [newest])

    def from_file(*inputs: str) -> tuple[float, float]:
        shutil.rmtree(out, ignore_errors=True)
        os.sync()
        return timed([*D2F, "update", *inputs, "-o", str(out)])

    def tree() -> dict:
        return {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file() and p.name[0] != "."}

    first, first_bytes, mbox_digests, mbox_all = [], [], [], []
    for _ in range(runs):
        shutil.rmtree(out, ignore_errors=True)
        os.sync()
        start = len(server.log)
        first.append(timed(imap))
        time.sleep(0.3)
        first_bytes.append(sent_bytes(server, start))
        imap_tree = tree()
        mbox_digests.append(from_file(str(WORK / "digests.mbox")))
        mbox_all.append(from_file(str(WORK / "all.mbox")))
    same = imap_tree == tree()

    r = {
        "messages": len(mails) + 1,
        "imap_first_s": median(first)[0],
        "imap_first_sent_mb": round(sorted(first_bytes)[len(first_bytes) // 2] / 1e6, 2),
        "mbox_digests_first_s": median(mbox_digests)[0],
        "mbox_all_first_s": median(mbox_all)[0],
        "imap_incremental_s": median(incremental)[0],
        "imap_incremental_sent_bytes": sorted(inc_bytes)[len(inc_bytes) // 2],
        "file_incremental_s": median(file_inc)[0],
        "same_tree_as_mbox": same,
    }
    r["first_x_mbox_digests"] = r["imap_first_s"] / r["mbox_digests_first_s"]
    r["incremental_x_file"] = r["imap_incremental_s"] / r["file_incremental_s"]
    return r


if __name__ == "__main__":
    main()
