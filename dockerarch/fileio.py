"""Reading Dockerfiles with one-line errors, and writing them back atomically.

Every read failure becomes a :class:`FileError` whose message fits after
``dockerarch: <path>: `` on one line, so the CLI never shows a traceback for
a bad input file.
"""

from __future__ import annotations

import codecs
import errno
import os
import stat
from pathlib import Path

from dockerarch.records import record

# UTF-32 first: its little-endian BOM starts with UTF-16's.
_WIDE_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32"),
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)


#: Real Dockerfiles are kilobytes; a file this large is not one, and the checks would only
#: spend minutes on it. Build-context files the rules read have the same limit.
MAX_SOURCE_BYTES = 8 * 1024 * 1024
_LIMIT = f"{MAX_SOURCE_BYTES // 1024 // 1024} MiB"


class FileError(Exception):
    """A file that cannot be read or written; ``str()`` is the one-line problem."""

    def __init__(self, path: str | os.PathLike[str], problem: str) -> None:
        super().__init__(problem)
        self.path = os.fspath(path)
        self.problem = problem


class FileChangedError(FileError):
    """The file changed on disk after it was read; writing would lose that change."""


@record
class Source:
    path: Path
    text: str
    #: Modification time when read, for :func:`write_atomic`'s change check.
    mtime_ns: int


def decode(data: bytes, path: str | os.PathLike[str]) -> str:
    """``data`` as text, or :class:`FileError` saying why it is not a UTF-8 text file.

    A UTF-8 byte order mark is kept: the parser records it so that fixes
    write it back.
    """
    for bom, name in _WIDE_BOMS:
        if data.startswith(bom):
            raise FileError(path, f"file is {name}; dockerarch reads UTF-8")
    if b"\0" in data:
        raise FileError(path, "binary file (contains NUL bytes), not a Dockerfile")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        column = e.start - (data.rfind(b"\n", 0, e.start) + 1) + 1
        raise FileError(
            path,
            f"not valid UTF-8: byte 0x{data[e.start]:02x} at line {line}, byte {column}",
        ) from None


def read_source(path: Path) -> Source:
    """Read and decode ``path``; every failure is a :class:`FileError`."""
    try:
        # Non-blocking, so that a FIFO met in a directory walk is refused instead of waiting
        # for a writer forever; regular files read the same either way. os calls rather than
        # open(): no file object to build and tear down (a third of reading a small file).
        fd = os.open(path, _READ_FLAGS)
        try:
            st = os.fstat(fd)
            if stat.S_ISDIR(st.st_mode):
                raise FileError(path, "cannot read: is a directory")
            if not stat.S_ISREG(st.st_mode):
                raise FileError(path, "not a regular file")
            if st.st_size > MAX_SOURCE_BYTES:
                raise FileError(path, f"file is {_size(st.st_size)}, over the {_LIMIT} limit")
            # Sized by fstat: asked for more, read() first allocates all of it. A file that
            # grew since (or a size of 0, as /proc reports) is read on up to the limit.
            data = _read(fd, st.st_size + 1)
            if len(data) > st.st_size:
                data += _read(fd, MAX_SOURCE_BYTES + 1 - len(data))
        finally:
            os.close(fd)
    except OSError as e:
        raise FileError(path, _os_problem(path, e)) from None
    if len(data) > MAX_SOURCE_BYTES:  # it grew while being read
        raise FileError(path, f"file is over the {_LIMIT} limit")
    return Source(path, decode(data, path), st.st_mtime_ns)


_READ_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)


def _read(fd: int, size: int) -> bytes:
    """Up to ``size`` bytes, fewer only at the end of the file."""
    data = os.read(fd, size)
    while 0 < len(data) < size:
        more = os.read(fd, size - len(data))
        if not more:
            break
        data += more
    return data


def _size(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MiB"


def _os_problem(path: Path, e: OSError) -> str:
    if e.errno == errno.ENOENT and os.path.islink(path):
        return f"cannot read: broken symbolic link to '{os.readlink(path)}'"
    if e.errno == errno.ELOOP:
        return "cannot read: symbolic link loop"
    if e.errno == errno.EISDIR:
        return "cannot read: is a directory"
    reason = (e.strerror or type(e).__name__).lower()
    return f"cannot read: {reason}"


def write_atomic(path: Path, text: str, expected_mtime_ns: int | None = None) -> None:
    """Replace ``path``'s content with ``text`` (UTF-8) in one step.

    The text goes to a temporary file in the same directory, is fsynced and
    then renamed over the target, so readers see the old or the new file,
    never half of one. The file keeps its permission bits; a symbolic link
    keeps pointing at its (rewritten) target. With ``expected_mtime_ns``
    (from :class:`Source`), a file modified since it was read is left alone
    and :class:`FileChangedError` raised.
    """
    target = Path(os.path.realpath(path))
    try:
        st: os.stat_result | None = os.stat(target)
    except FileNotFoundError:
        st = None
    except OSError as e:
        raise FileError(path, f"cannot write: {(e.strerror or str(e)).lower()}") from None
    if expected_mtime_ns is not None and (st is None or st.st_mtime_ns != expected_mtime_ns):
        raise FileChangedError(path, "file changed on disk since it was read; not overwritten")
    mode = stat.S_IMODE(st.st_mode) if st is not None else _default_mode()
    try:
        fd, tmp = make_temp(target.parent, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as e:
        raise FileError(path, f"cannot write: {(e.strerror or str(e)).lower()}") from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(text.encode("utf-8"))
            f.flush()
            os.fchmod(f.fileno(), mode)
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException as e:
        os.unlink(tmp)
        if isinstance(e, OSError):
            raise FileError(path, f"cannot write: {(e.strerror or str(e)).lower()}") from None
        raise
    _fsync_dir(target.parent)


def make_temp(directory: str | os.PathLike[str], prefix: str, suffix: str = "") -> tuple[int, str]:
    """``tempfile.mkstemp(suffix, prefix, directory)``: a new file only this user can read,
    open for writing, and its path. Without importing tempfile (with random and shutil):
    5% of the instructions of a one-file run that stores its result in the cache."""
    flags = os.O_RDWR | os.O_CREAT | os.O_EXCL
    for extra in ("O_NOFOLLOW", "O_CLOEXEC", "O_BINARY"):
        flags |= getattr(os, extra, 0)
    for _ in range(100):
        name = os.path.join(directory, f"{prefix}{os.urandom(6).hex()}{suffix}")
        try:
            return os.open(name, flags, 0o600), name
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no unused temporary file name", os.fspath(directory))


def _default_mode() -> int:
    # The mode open() would give a new file: 0o666 minus the umask, which
    # can only be read by setting it.
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _fsync_dir(directory: Path) -> None:
    # Makes the rename itself durable; not every platform or filesystem
    # lets a directory be opened or synced, and the data is safe either way.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
