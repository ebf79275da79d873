"""The output folder: one writer at a time, whole files only, untouched when unchanged."""

from __future__ import annotations

import fcntl
import os
import secrets
import stat
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

LOCK_NAME = ".digest2feed.lock"
PENDING_NAME = ".digest2feed.pending"  # present only while a run renames its files into place
TEMP_SUFFIX = ".d2f-tmp"
# The web server must read what we write, whatever the umask of the process that runs us
# (procmail pipes run with 077, maildrop with 007): modes are set, never inherited.
FOLDER_MODE = 0o755
FILE_MODE = 0o644


def make_folder(path: Path) -> list[Path]:
    """Create ``path`` and any missing parents, each 0755. Folders that exist are left as they
    are. Returns the folders made, outermost first."""
    missing: list[Path] = []
    while not path.is_dir():
        missing.append(path)
        if path.parent == path:
            break
        path = path.parent
    made: list[Path] = []
    try:
        for p in reversed(missing):
            try:
                p.mkdir()
            except FileExistsError:
                if not p.is_dir():
                    raise
                continue  # made by a run at the same moment
            made.append(p)
            os.chmod(p, FOLDER_MODE)
    except OSError:
        unmake(made)
        raise
    return made


def unmake(made: list[Path]) -> None:
    """Remove folders ``make_folder`` made (outermost first), innermost first, if still empty."""
    for p in reversed(made):
        with suppress(OSError):
            p.rmdir()


def share_folders(folder: Path, rels: Iterable[str]) -> None:
    """Make the subfolders we write into 0755 again: earlier versions created them under the
    filter's umask (0700), and a web server cannot enter those. The output folder keeps its own mode."""
    for sub in {(folder / rel).parent for rel in rels} - {folder}:
        try:
            if stat.S_IMODE(sub.stat().st_mode) != FOLDER_MODE:
                os.chmod(sub, FOLDER_MODE)
        except OSError:  # not ours to change (another owner): leave it, the run still stands
            continue


def foreign(folder: Path, rels: Iterable[str], ours: Callable[[Path], bool]) -> list[str]:
    """The targets that exist but were not written by us: a run must never overwrite them."""
    return sorted(rel for rel in rels if (folder / rel).exists() and not ours(folder / rel))


def unplanned(
    folder: Path, rels: Iterable[str], names: Iterable[str], ours: Callable[[Path], bool], skip: str
) -> list[str]:
    """Our files the settings no longer ask for (a feed of your own taken out, a format or the
    page turned off): ``names`` in the output folder and in its subfolders, those we wrote
    (``ours``) and the run does not plan (``rels``). The run removes them with the stale
    archives, so a web server stops serving feeds that nothing updates. Dot folders, the
    archive folder ``skip`` (its own rule) and another output folder inside this one are not
    looked into."""
    planned, names = set(rels), tuple(names)
    subs = [""]
    with suppress(OSError):
        subs += sorted(
            f"{d.name}/"
            for d in folder.iterdir()
            if d.is_dir() and not d.name.startswith(".") and d.name != skip and not (d / LOCK_NAME).exists()
        )
    found = (sub + name for sub in subs for name in names)
    return [rel for rel in found if rel not in planned and (folder / rel).is_file() and ours(folder / rel)]


def unplanned_in(folder: Path, rels: Iterable[str], sub: str, pattern: str, ours: Callable[[Path], bool]) -> list[str]:
    """Our files in the subfolder ``sub`` whose names match ``pattern`` (the week pages) that the
    run does not plan: removed like ``unplanned``'s. Nothing in a subfolder that is another
    output folder (it has its own lock file)."""
    planned, where = set(rels), folder / sub
    if not where.is_dir() or (where / LOCK_NAME).exists():
        return []
    found = sorted(f"{sub}/{p.name}" for p in where.glob(pattern))
    return [rel for rel in found if rel not in planned and (folder / rel).is_file() and ours(folder / rel)]


# While a run renames, the old version of each file it replaces stays reachable under this
# suffix (a hard link): entries move both ways between atom.xml and the archives, so no
# order of renames keeps every fact in some state file; the old versions do.
BACKUP_SUFFIX = ".d2f-old"


@contextmanager
def locked(folder: Path) -> Iterator[None]:
    """Serialise runs on one folder. flock dies with its process: a killed run leaves no stale lock."""
    make_folder(folder)
    fd = os.open(folder / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)  # ours alone: nobody else opens it
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def unchanged(path: Path, data: bytes) -> bool:
    try:
        return path.stat().st_size == len(data) and path.read_bytes() == data
    except FileNotFoundError:
        return False


class StoreError(OSError):
    """A file could not be written; nothing in the folder was changed."""


def commit(folder: Path, files: Iterable[tuple[str, bytes]], stale: list[str], last: str) -> list[str]:
    """Write every changed file beside its target, then rename them all, ``last`` last.

    ``files`` may be a generator: each file is rendered, compared and written out
    before the next, so memory holds one file at a time. A failure while writing
    (disk full, read-only folder) removes the temporary files and changes nothing.
    Renames come only after every write succeeded, each atomic; stale files go
    after the renames. Until the last of them, the pending marker and a hard link to
    each replaced file's old version (``BACKUP_SUFFIX``) stay, so a crash at any point
    leaves every fact in some state file or old version, which the next run reads.
    Returns the paths written or removed.
    """
    _remove_leftovers(folder)
    temps: list[tuple[str, str]] = []
    made: list[Path] = []
    try:
        for rel, data in files:
            target = folder / rel
            if unchanged(target, data):
                continue
            try:
                made += make_folder(target.parent)
                fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=TEMP_SUFFIX)
                temps.append((tmp, rel))
                with os.fdopen(fd, "wb") as f:
                    f.write(data)
                    f.flush()
                    os.fsync(f.fileno())
                os.chmod(tmp, FILE_MODE)
            except OSError as e:
                raise StoreError(e.errno, e.strerror, str(target)) from None
    except BaseException:
        for tmp, _ in temps:
            Path(tmp).unlink(missing_ok=True)
        unmake(made)
        raise
    temps.sort(key=lambda t: t[1] == last)
    changed = [rel for _, rel in temps]
    if not changed and not any((folder / rel).exists() for rel in stale):
        _finish(folder)
        return []
    marker = folder / PENDING_NAME
    with open(marker, "wb") as f:
        os.fsync(f.fileno())
    for rel in changed:
        target = folder / rel
        if target.exists():
            os.link(target, target.parent / f".{target.name}.{secrets.token_hex(6)}{BACKUP_SUFFIX}")
    _sync_dirs({(folder / rel).parent for rel in changed} | {folder})
    for tmp, rel in temps:
        os.replace(tmp, folder / rel)
    removed = [rel for rel in stale if _remove(folder / rel)]
    _sync_dirs({(folder / rel).parent for rel in [*changed, *removed]} | {folder})
    _finish(folder, emptied={(folder / rel).parent for rel in removed} - {folder})
    return changed + removed


def pending(folder: Path) -> bool:
    """True when a run died between its first rename and its last: files may disagree."""
    return (folder / PENDING_NAME).exists()


def backups(folder: Path) -> list[Path]:
    """Old versions kept by a run that died mid-commit (there are none without the marker)."""
    return sorted(folder.rglob(f".*{BACKUP_SUFFIX}"))


def _finish(folder: Path, emptied: set[Path] | None = None) -> None:
    """The commit is whole: drop the old versions, made durable, and folders the run emptied
    (only now can they be empty), then the marker."""
    old = backups(folder)
    for path in old:
        path.unlink()
    if old:
        _sync_dirs({p.parent for p in old})
    _remove_emptied(emptied or set())
    _remove(folder / PENDING_NAME)
    _sync_dirs({folder})


def _remove_leftovers(folder: Path) -> None:
    """Temporary files of a run that was killed mid-write; only a lock holder calls this."""
    for tmp in folder.rglob(f".*{TEMP_SUFFIX}"):
        tmp.unlink(missing_ok=True)


def _remove(path: Path) -> bool:
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    return True


def _remove_emptied(folders: set[Path]) -> None:
    """Folders whose last file a run removed (all archives back in a wider window). Only
    after the removals are durable, and only if empty: rmdir refuses a folder with anything in it."""
    for d in folders:
        with suppress(OSError):
            d.rmdir()


def _sync_dirs(folders: set[Path]) -> None:
    """Make the renames durable: after this a power cut keeps the new files."""
    for d in folders:
        fd = os.open(d, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
