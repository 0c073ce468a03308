"""The shared bounded memo."""

from __future__ import annotations

from dockerarch.memo import BoundedMemo


def test_a_full_memo_forgets_everything_before_keeping_more() -> None:
    memo: BoundedMemo[str, int] = BoundedMemo(3)
    assert [memo.keep(k, v) for k, v in (("a", 1), ("b", 2), ("c", 3))] == [1, 2, 3]
    assert dict(memo) == {"a": 1, "b": 2, "c": 3}
    memo.keep("b", 20)  # full: cleared, then kept
    assert dict(memo) == {"b": 20}
    assert memo.get("a") is None and "b" in memo and memo["b"] == 20
