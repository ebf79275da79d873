"""Which IMAP messages the state already holds, so a run fetches only the rest — and never less.

The checkpoint (``DIR/.digest2feed.imap.json``) lists, per folder, the UIDVALIDITY and the
UIDs whose content is in the state files. It is tied to those files: it stores a
signature of every state file (path, size, inode, mtime and ctime, which no copy or
restore can reproduce) as it was right after the run that wrote it, and is ignored
unless the state files still have exactly that signature. So a deleted, replaced,
restored or hand-edited ``atom.xml`` (or archive) voids it, and a changed UIDVALIDITY
voids its folder: both only cost one full fetch.

It is written only after a run's files were committed, under the run's lock, from
the checkpoint read *under that lock* (valid for the state the run merged into)
plus the UIDs this run fetched itself. Any run that commits carries a valid
checkpoint forward to the new state, since a merge only adds facts.

Folders are named by a hash of host, port, user and folder, so the file says
nothing about whose mailbox it is.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from digest2feed.schema import CHECKPOINT, TEMP_SUFFIX
from digest2feed.store import read_own

VERSION = 1
MAX_BYTES = 16 * 1024 * 1024  # far above any we write (UID ranges); a larger one is void


@dataclass(frozen=True)
class Marks:
    signature: str  # of the state files this checkpoint describes
    folders: dict[str, tuple[int, frozenset[int]]] = field(default_factory=dict)

    def done(self, key: str, uidvalidity: int) -> frozenset[int]:
        """UIDs of ``key`` already in the state; none when UIDVALIDITY changed."""
        validity, uids = self.folders.get(key, (None, frozenset()))
        return uids if validity == uidvalidity else frozenset()


def signature(folder: Path, files: list[Path]) -> str:
    """Of the state files ``files`` (state.state_files): size, inode and times, which no copy reproduces."""
    h = hashlib.sha256()
    for path in files:
        try:
            st = path.stat()
        except FileNotFoundError:
            continue
        rel = path.relative_to(folder).as_posix()
        h.update(f"{rel}\t{st.st_size}\t{st.st_ino}\t{st.st_mtime_ns}\t{st.st_ctime_ns}\n".encode())
    return h.hexdigest()


def read(folder: Path, files: list[Path]) -> Marks:
    """The checkpoint if it describes the state files ``files`` as they are now; else an empty one."""
    now = signature(folder, files)
    raw = read_own(folder / CHECKPOINT, MAX_BYTES)
    try:
        data = json.loads(raw or b"")
        if data.get("version") != VERSION or data.get("state") != now:
            return Marks(now)
        folders = {
            key: (int(entry["uidvalidity"]), frozenset(_expand(entry["done"])))
            for key, entry in data["folders"].items()
        }
    except (OSError, ValueError, KeyError, TypeError, AttributeError):  # missing or damaged: start over
        return Marks(now)
    return Marks(now, folders)


def save(folder: Path, files: list[Path], base: Marks, taken: dict[str, tuple[int, set[int]]]) -> None:
    """After a commit: ``base`` (read under the lock before the merge) plus what this run took."""
    if not base.folders and not taken and not (folder / CHECKPOINT).exists():
        return
    folders = dict(base.folders)
    for key, (validity, uids) in taken.items():
        folders[key] = (validity, base.done(key, validity) | uids)
    data = {
        "version": VERSION,
        "state": signature(folder, files),
        "folders": {k: {"uidvalidity": v, "done": _ranges(u)} for k, (v, u) in sorted(folders.items())},
    }
    text = json.dumps(data, separators=(",", ":")) + "\n"
    try:
        if read_own(folder / CHECKPOINT, MAX_BYTES) == text.encode():
            return  # unchanged: not rewritten, like every other file
    except (OSError, UnicodeDecodeError):
        pass
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f"{CHECKPOINT}.", suffix=TEMP_SUFFIX)
    except OSError:
        return
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, folder / CHECKPOINT)
    except OSError:  # the files are committed; a stale checkpoint is void anyway (its signature differs)
        Path(tmp).unlink(missing_ok=True)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _ranges(uids: frozenset[int] | set[int]) -> list[list[int]]:
    out: list[list[int]] = []
    for uid in sorted(uids):
        if out and uid == out[-1][1] + 1:
            out[-1][1] = uid
        else:
            out.append([uid, uid])
    return out


def _expand(ranges: list[list[int]]) -> set[int]:
    if sum(int(hi) - int(lo) + 1 for lo, hi in ranges) > 10_000_000:  # not one we wrote
        raise ValueError("implausible checkpoint")
    return {uid for lo, hi in ranges for uid in range(int(lo), int(hi) + 1)}
