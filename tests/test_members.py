"""The snapshot file layout: what pack writes, Members reads back, one member at a time."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dockerarch.knowledge.members import Members, pack


@given(
    members=st.dictionaries(st.text(max_size=8), st.binary(max_size=64), max_size=6),
    date=st.text(max_size=10),
)
def test_members_reads_what_pack_writes(members: dict[str, bytes], date: str) -> None:
    blob = pack({"format": 7, "date": date}, members)
    assert pack({"format": 7, "date": date}, dict(reversed(members.items()))) == blob
    read = Members(blob, "x.bin", 7)
    assert read.header["date"] == date
    assert read.names() == sorted(members)
    for name, content in members.items():
        assert read.read(name) == content
    assert read.read("\0absent") is None


@pytest.mark.parametrize("blob", [b"", b"[1]\n", b'{"format":6,"members":{}}\n'])
def test_another_format_is_refused_naming_the_file(blob: bytes) -> None:
    with pytest.raises(
        ValueError, match=r"^x.bin: unsupported format .* \(this dockerarch reads 7\)"
    ):
        Members(blob, "x.bin", 7)
