"""The file layout of the shipped snapshots: a JSON header line, then zlib members.

A check asks about a few images or packages, so each one's data is a compressed member of
its own, inflated only when asked about: inflating and decoding a whole snapshot cost more
than the rest of a small file's check. The header holds the snapshot's own facts (format,
date, shared tables) and ``members``: each member's ``[offset, length]`` after the header
line. scripts/build_*_snapshot.py write it with :func:`pack`; the knowledge modules read it
with :class:`Members`.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Mapping

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class Members:
    """A snapshot's header, and its members inflated on request."""

    def __init__(self, blob: bytes, what: str, version: int) -> None:
        """``what`` names the file in errors; ``version`` is the format this code reads."""
        header_end = blob.find(b"\n") + 1
        header = json.loads(blob[:header_end]) if header_end else {}
        found = header.get("format") if isinstance(header, dict) else None
        if found != version:
            raise ValueError(
                f"{what}: unsupported format {found!r} (this dockerarch reads {version})"
            )
        self.header: dict[str, Any] = header
        self._index: dict[str, list[int]] = header["members"]
        self._data = memoryview(blob)[header_end:]

    def names(self) -> list[str]:
        return sorted(self._index)

    def read(self, name: str) -> bytes | None:
        """Member ``name``, inflated; None when there is none."""
        member = self._index.get(name)
        if member is None:
            return None
        offset, length = member
        return zlib.decompress(self._data[offset : offset + length])


def pack(header: Mapping[str, Any], members: Mapping[str, bytes]) -> bytes:
    """The file of ``header`` and ``members`` (uncompressed, by name), ``members`` added to
    the header; the same input gives the same bytes."""
    index: dict[str, list[int]] = {}
    blobs: list[bytes] = []
    offset = 0
    for name in sorted(members):
        blob = zlib.compress(members[name], 9)
        index[name] = [offset, len(blob)]
        offset += len(blob)
        blobs.append(blob)
    text = json.dumps({**header, "members": index}, sort_keys=True, separators=(",", ":"))
    return text.encode("utf-8") + b"\n" + b"".join(blobs)
