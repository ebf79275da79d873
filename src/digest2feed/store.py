"""The output folder: one writer at a time, whole files only, untouched when unchanged."""

from __future__ import annotations

import errno
import fcntl
import os
import secrets
import stat
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from digest2feed.schema import BACKUP_SUFFIX, FILE_MODE, FINGERPRINT_RE, FOLDER_MODE, LOCK, PENDING, TAIL, TEMP_SUFFIX

LINKED = "is a symbolic link; refusing to follow it"


class Linked(OSError):
    """A path inside the output folder is a symbolic link. None is ever followed: a link there
    would let a run read another site's files into ours, or write, chmod or delete outside the
    folder. The output folder itself may be a link (users do that on purpose)."""

    def __init__(self, path: Path) -> None:
        super().__init__(errno.ELOOP, LINKED, str(path))


def no_link(path: Path) -> None:
    if path.is_symlink():
        raise Linked(path)


def refused(folder: Path, rels: Iterable[str]) -> list[tuple[str, str]]:
    """(path, why) for each of ``rels`` a run must not touch: it, or a folder above it below
    ``folder``, is a symbolic link; or it exists and is not a regular file (a FIFO would hold
    the run forever)."""
    found: dict[str, str] = {}
    checked: set[str] = set()
    for rel in rels:
        parts = rel.split("/")
        for i in range(1, len(parts) + 1):
            sub = "/".join(parts[:i])
            if sub in checked:
                continue
            checked.add(sub)
            try:
                mode = (folder / sub).lstat().st_mode
            except OSError:
                break  # missing: made by the run
            if stat.S_ISLNK(mode):
                found[sub] = LINKED
                break
            if i == len(parts) and not stat.S_ISREG(mode):
                found[sub] = "is not a regular file; refusing to touch it"
    return sorted(found.items())


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
            if _real_dir(d) and not d.name.startswith(".") and d.name != skip and not (d / LOCK).exists()
        )
    found = (sub + name for sub in subs for name in names)
    return [rel for rel in found if rel not in planned and _real_file(folder / rel) and ours(folder / rel)]


def _real_dir(path: Path) -> bool:
    return path.is_dir() and not path.is_symlink()


def _real_file(path: Path) -> bool:
    try:
        return stat.S_ISREG(path.lstat().st_mode)
    except OSError:
        return False


# While a run renames, the old version of each file it replaces stays reachable under
# BACKUP_SUFFIX (a hard link): entries move both ways between atom.xml and the archives, so
# no order of renames keeps every fact in some state file; the old versions do.


@contextmanager
def locked(folder: Path) -> Iterator[None]:
    """Serialise runs on one folder. flock dies with its process: a killed run leaves no stale lock.
    A run that fails in a folder it made leaves neither the lock nor the folders behind."""
    made = make_folder(folder)
    lock = folder / LOCK
    fd = _open(lock, os.O_RDWR | os.O_CREAT)  # 0600: ours alone, nobody else opens it
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    except BaseException:
        if made:
            lock.unlink(missing_ok=True)
            unmake(made)
        raise
    finally:
        os.close(fd)


def _open(path: Path, flags: int) -> int:
    """``os.open`` that never follows a symbolic link at ``path``."""
    try:
        return os.open(path, flags | os.O_NOFOLLOW, 0o600)
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise Linked(path) from None
        raise


def fingerprint_of(path: Path) -> str | None:
    """The fingerprint at the end of ``path``, if it has one."""
    try:
        with open(_open(path, os.O_RDONLY | os.O_NONBLOCK), "rb") as f:  # a FIFO never holds us
            f.seek(max(0, f.seek(0, 2) - TAIL))
            tail = f.read()
    except OSError:
        return None
    m = FINGERPRINT_RE.search(tail)
    return m.group(1).decode() if m else None


def unchanged(path: Path, data: bytes) -> bool:
    try:
        return path.stat().st_size == len(data) and path.read_bytes() == data
    except FileNotFoundError:
        return False


class StoreError(OSError):
    """A file could not be written; nothing in the folder was changed."""


class Interrupted(OSError):
    """A rename or removal failed after the first rename: some files are new, the pending
    marker stays, and the next run completes the update from the old versions kept."""


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
    fd = _open(folder / PENDING, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    for rel in changed:
        target = folder / rel
        if target.exists():
            os.link(target, target.parent / f".{target.name}.{secrets.token_hex(6)}{BACKUP_SUFFIX}")
    _sync_dirs({(folder / rel).parent for rel in changed} | {folder})
    try:
        for tmp, rel in temps:
            os.replace(tmp, folder / rel)
        removed = [rel for rel in stale if _remove(folder / rel)]
        _sync_dirs({(folder / rel).parent for rel in [*changed, *removed]} | {folder})
        _finish(folder, emptied={(folder / rel).parent for rel in removed} - {folder})
    except OSError as e:
        raise Interrupted(e.errno, e.strerror, e.filename) from None
    return changed + removed


def pending(folder: Path) -> bool:
    """True when a run died between its first rename and its last: files may disagree."""
    marker = folder / PENDING
    no_link(marker)
    return marker.exists()


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
    _remove(folder / PENDING)
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
