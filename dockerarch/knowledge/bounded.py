"""Reading an HTTP response within a size limit and a deadline, for every online client.

A server that trickles bytes must not hold a check up, and one that sends too much must
not fill memory: the body is read piece by piece (``read1`` returns what one receive
brings, where ``read`` would wait for a full piece) against one overall deadline.
"""

from __future__ import annotations

import time
from typing import Any


class ResponseRefused(Exception):
    """The body was over the limit or too slow; the message says which."""


def read_bounded(response: Any, max_bytes: int, deadline: float, timeout: float) -> bytes:
    """The body of ``response``: at most ``max_bytes``, all of it by ``deadline``.

    ``timeout`` is the configured time the deadline came from, for the message.
    """
    declared = response.headers.get("Content-Length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise ResponseRefused(f"{declared} bytes is larger than the limit of {max_bytes} bytes")
    chunks: list[bytes] = []
    size = 0
    while chunk := response.read1(64 * 1024):
        size += len(chunk)
        if size > max_bytes:
            raise ResponseRefused(f"response is larger than the limit of {max_bytes} bytes")
        if time.monotonic() > deadline:
            raise ResponseRefused(f"timed out after {timeout}s")
        chunks.append(chunk)
    return b"".join(chunks)
