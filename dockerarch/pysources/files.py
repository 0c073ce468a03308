"""Read files of the build context, and nothing outside it."""

from __future__ import annotations

import codecs
import os
from pathlib import Path

# Requirement sources are small; a multi-megabyte "requirements.txt" is not one
# and reading it would only slow the linter down.
MAX_FILE_BYTES = 8 * 1024 * 1024


class ContextError(Exception):
    """A file that is not read: outside the context, missing, too large, not text."""


def lexical(path: Path, root: Path) -> Path:
    """Absolute ``path`` (relative paths are relative to ``root``) with ``.``/``..`` folded."""
    return Path(
        os.path.normpath(path if path.is_absolute() else Path(os.path.abspath(root)) / path)
    )


def display(path: Path, root: Path) -> str:
    """``path`` as a user sees it: relative to the context when inside it."""
    full = lexical(path, root)
    try:
        return full.relative_to(os.path.abspath(root)).as_posix()
    except ValueError:
        return str(full)


def resolve_in_root(path: Path, root: Path) -> Path:
    """The real path of ``path`` if it lies inside ``root`` after resolving symlinks."""
    try:
        real_root = root.resolve()
        real = lexical(path, root).resolve()
    except (OSError, ValueError, RuntimeError) as exc:
        # NUL bytes, over-long names and symlink loops are not paths pip could open either.
        raise ContextError(f"{display(path, root)!r} is not a usable path: {exc}") from exc
    if real != real_root and not real.is_relative_to(real_root):
        raise ContextError(f"{display(path, root)} is outside the build context; not read")
    return real


def read_text_in_root(path: Path, root: Path) -> tuple[str, Path]:
    """Decoded text and real path of a regular file inside ``root``."""
    real = resolve_in_root(path, root)
    path = Path(display(path, root))
    try:
        # is_file() also refuses FIFOs and devices, which could block or never end.
        if not real.is_file():
            raise ContextError(f"{path} does not exist or is not a regular file")
        if real.stat().st_size > MAX_FILE_BYTES:
            raise ContextError(f"{path} is larger than {MAX_FILE_BYTES} bytes; not read")
        data = real.read_bytes()
    except OSError as exc:
        raise ContextError(f"{path} cannot be read: {exc.strerror or exc}") from exc
    return decode(data, path), real


def decode(data: bytes, path: Path) -> str:
    """UTF-8 (BOM stripped) or BOM-marked UTF-16, as pip accepts."""
    try:
        if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return data.decode("utf-16")
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ContextError(f"{path} is not UTF-8 text (byte {exc.start})") from exc
