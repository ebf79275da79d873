"""The output folder: one writer at a time, whole files only, untouched when unchanged."""

from __future__ import annotations

import errno
import fcntl
import os
import secrets
import stat
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from digest2feed.schema import BACKUP_SUFFIX, FILE_MODE, FINGERPRINT_RE, FOLDER_MODE, LOCK, PENDING, TAIL, TEMP_SUFFIX

LINKED = "is a symbolic link; refusing to follow it"


NOT_A_FILE = "is not a regular file; refusing to touch it"


class Refused(OSError):
    """A path inside the output folder a run must not touch; ``strerror`` says why."""


class Linked(Refused):
    """A path inside the output folder is a symbolic link. None is ever followed: a link there
    would let a run read another site's files into ours, or write, chmod or delete outside the
    folder. The output folder itself may be a link (users do that on purpose)."""

    def __init__(self, path: Path) -> None:
        super().__init__(errno.ELOOP, LINKED, str(path))


class NotAFile(Refused):
    """A FIFO, a device or a folder where a run reads one of its files: a FIFO would hold it forever."""

    def __init__(self, path: Path) -> None:
        super().__init__(errno.EINVAL, NOT_A_FILE, str(path))


def read_own(path: Path, limit: int) -> bytes | None:
    """One of our small files (a checkpoint, the owed pings), or None when there is none. Never
    through a link, never waiting on a FIFO, never more than ``limit`` bytes."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        return None
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise Linked(path) from None
        raise
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise NotAFile(path)
    with open(fd, "rb") as f:
        return f.read(limit)


def no_link(path: Path) -> None:
    if path.is_symlink():
        raise Linked(path)


def check_own(path: Path) -> None:
    """Refuse (Refused) a link, a FIFO or a folder where one of our files is read later."""
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        return
    if stat.S_ISLNK(mode):
        raise Linked(path)
    if not stat.S_ISREG(mode):
        raise NotAFile(path)


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
                found[sub] = NOT_A_FILE
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


def unplanned_in(folder: Path, rels: Iterable[str], sub: str, pattern: str, ours: Callable[[Path], bool]) -> list[str]:
    """Our files in the subfolder ``sub`` whose names match ``pattern`` (the week pages) that the
    run does not plan: removed like ``unplanned``'s. Nothing in a subfolder that is a link or
    another output folder (it has its own lock file)."""
    planned, where = set(rels), folder / sub
    if not _real_dir(where) or (where / LOCK).exists():
        return []
    found = sorted(f"{sub}/{p.name}" for p in where.glob(pattern))
    return [rel for rel in found if rel not in planned and _real_file(folder / rel) and ours(folder / rel)]


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
    Every folder below ``folder`` is opened without following a link and every file
    is made, linked, renamed and removed through its folder's descriptor, so a folder
    swapped for a link meanwhile is never followed. Returns the paths written or removed.
    """
    _remove_leftovers(folder)
    with _Folders(folder) as at:
        temps = _write_all(at, files, any((folder / rel).exists() for rel in stale))
        temps.sort(key=lambda t: t[1] == last)
        changed = [rel for _, rel in temps]
        if not changed and not any((folder / rel).exists() for rel in stale):
            _finish(folder)
            return []
        where = folder  # named in the error: the file whose link, rename or removal failed
        try:
            for _, rel in temps:  # the old version of each replaced file stays reachable until the commit is whole
                where, (dfd, name) = folder / rel, at.parent(rel)
                if at.exists(rel):
                    backup = f".{name}.{secrets.token_hex(6)}{BACKUP_SUFFIX}"
                    os.link(name, backup, src_dir_fd=dfd, dst_dir_fd=dfd, follow_symlinks=False)
            at.sync(changed)
            for tmp, rel in temps:
                where, (dfd, name) = folder / rel, at.parent(rel)
                os.replace(tmp, name, src_dir_fd=dfd, dst_dir_fd=dfd)
            where = folder
            removed = [rel for rel in stale if at.remove(rel)]
            at.sync([*changed, *removed])
            _finish(folder, emptied={(folder / rel).parent for rel in removed} - {folder})
        except OSError as e:
            raise Interrupted(e.errno, e.strerror, str(where)) from None
    return changed + removed


def _write_all(at: _Folders, files: Iterable[tuple[str, bytes]], removals: bool) -> list[tuple[str, str]]:
    """Each changed file written beside its target, then the pending marker (also for ``removals``
    alone); (temporary name, path) of each. On any failure, the temporaries and the folders
    made are removed."""
    temps: list[tuple[str, str]] = []
    try:
        for rel, data in files:
            try:
                dfd, name = at.parent(rel, make=True)
                if _same(dfd, name, data):
                    continue
                tmp = f".{name}.{secrets.token_hex(6)}{TEMP_SUFFIX}"
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, FILE_MODE, dir_fd=dfd)
                temps.append((tmp, rel))
                with open(fd, "wb") as f:
                    f.write(data)
                    f.flush()
                    os.fsync(f.fileno())
                    os.fchmod(f.fileno(), FILE_MODE)
            except Linked:
                raise
            except OSError as e:
                raise StoreError(e.errno, e.strerror, str(at.folder / rel)) from None
        if temps or removals:  # a new marker, never one that is there: it could be a hard link to another file
            with suppress(FileNotFoundError):
                os.unlink(PENDING, dir_fd=at.root)
            os.close(os.open(PENDING, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, FILE_MODE, dir_fd=at.root))
            os.fsync(at.root)
    except BaseException:
        for tmp, rel in temps:
            with suppress(OSError):
                os.unlink(tmp, dir_fd=at.parent(rel)[0])
        unmake(at.made)
        raise
    return temps


def _same(dfd: int, name: str, data: bytes) -> bool:
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=dfd)
    except OSError:
        return False
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode) or st.st_size != len(data):
        os.close(fd)
        return False
    with open(fd, "rb") as f:
        return f.read() == data


class _Folders:
    """Descriptors of the output folder and the folders below it, each opened without
    following a link: every later call goes through them, never through a path again."""

    def __init__(self, folder: Path) -> None:
        self.folder, self.made = folder, []
        self.root = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)  # the output folder itself may be a link
        self.fds: dict[str, int] = {"": self.root}

    def __enter__(self) -> _Folders:
        return self

    def __exit__(self, *exc: object) -> None:
        for fd in self.fds.values():
            os.close(fd)

    def parent(self, rel: str, make: bool = False) -> tuple[int, str]:
        """(descriptor of the folder holding ``rel``, its name), making missing folders 0755."""
        parent, _, name = rel.rpartition("/")
        if parent not in self.fds:
            dfd, last = self.parent(parent, make)
            self.fds[parent] = self._open(dfd, last, parent, make)
        return self.fds[parent], name

    def _open(self, dfd: int, name: str, rel: str, make: bool) -> int:
        try:
            return os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=dfd)
        except FileNotFoundError:
            if not make:
                raise
            os.mkdir(name, FOLDER_MODE, dir_fd=dfd)
            self.made.append(self.folder / rel)
            fd = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=dfd)
            os.fchmod(fd, FOLDER_MODE)
            return fd
        except OSError as e:
            if e.errno in (errno.ELOOP, errno.ENOTDIR) and (self.folder / rel).is_symlink():
                raise Linked(self.folder / rel) from None
            raise

    def exists(self, rel: str) -> bool:
        dfd, name = self.parent(rel)
        try:
            os.stat(name, dir_fd=dfd, follow_symlinks=False)
        except FileNotFoundError:
            return False
        return True

    def remove(self, rel: str) -> bool:
        try:
            dfd, name = self.parent(rel)
            os.unlink(name, dir_fd=dfd)
        except FileNotFoundError:
            return False
        return True

    def sync(self, rels: Iterable[str]) -> None:
        """Make the renames durable (the folders holding ``rels``, and the output folder): after
        this a power cut keeps the new files."""
        for parent in {rel.rpartition("/")[0] for rel in rels} | {""}:
            os.fsync(self.fds[parent])


def pending(folder: Path) -> bool:
    """True when a run died between its first rename and its last: files may disagree."""
    marker = folder / PENDING
    no_link(marker)
    return marker.exists()  # only looked at: a new marker replaces it (commit)


def backups(folder: Path) -> list[Path]:
    """Old versions kept by a run that died mid-commit (there are none without the marker)."""
    return sorted(_dot_files(folder, BACKUP_SUFFIX))


def _dot_files(folder: Path, suffix: str) -> Iterator[Path]:
    """Our dot files ending in ``suffix``, in the folder and below it: never in a folder
    reached through a link, nor in another output folder kept inside this one (its own lock
    says so: a run there may be writing them, or need them to recover)."""
    for root, dirs, names in os.walk(folder):
        here = Path(root)
        dirs[:] = [d for d in dirs if not (here / d / LOCK).exists()]
        yield from (here / n for n in names if n.startswith(".") and n.endswith(suffix))


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
    for tmp in _dot_files(folder, TEMP_SUFFIX):
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
