"""The knowledge files shipped in ``dockerarch/knowledge/data``.

Read from the package directory on disk, where pip installs them. Importing
importlib.resources (tempfile, random, weakref and their imports) cost ~6 ms of
a one-file run, so it is only the fallback, for an installation whose modules
are not plain files (a zip on sys.path).
"""

from __future__ import annotations

import os

_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")


def read_bytes(name: str) -> bytes:
    """The content of ``data/<name>`` (``name`` may hold ``/``)."""
    try:
        with open(os.path.join(_DIR, *name.split("/")), "rb") as f:
            return f.read()
    except (FileNotFoundError, NotADirectoryError):
        from importlib import resources

        return resources.files(__package__).joinpath("data", *name.split("/")).read_bytes()


def read_text(name: str) -> str:
    """``data/<name>`` decoded as UTF-8."""
    return read_bytes(name).decode("utf-8")
