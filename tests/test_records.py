"""Records are frozen under the suite and plain, hashed by their fields, elsewhere.

dockerarch/records.py explains why: the run-time guard costs ~12% of a check, so
mypy and this suite's processes enforce it, not every user's run.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from dockerarch import records
from dockerarch.diagnostics import Diagnostic, Severity
from dockerarch.syntax import Span, parse
from tests.scripts import load_script


def test_records_are_frozen_in_the_suite() -> None:
    ins = parse("FROM alpine\n").instructions[0]
    diagnostic = Diagnostic("DA000", "m", Span(0, 1), Severity.INFO)
    for obj, name in ((Span(0, 1), "start"), (ins, "keyword"), (diagnostic, "message")):
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(obj, name, None)


def test_records_elsewhere_are_plain_and_compare_as_frozen_ones_do() -> None:
    script = (
        "from dockerarch.syntax import Span\n"
        "a, b = Span(1, 2), Span(1, 2)\n"
        "assert Span.__setattr__ is object.__setattr__\n"
        "assert a == b and hash(a) == hash(b) == hash((1, 2)) and a != Span(1, 3)\n"
        "assert len({a, b}) == 1\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "DOCKERARCH_FROZEN"}
    subprocess.run([sys.executable, "-c", script], env=env, check=True)


def test_a_frozen_record_hashes_as_a_plain_one() -> None:
    # The suite checks frozen records; users run plain ones: same hash, same equality.
    assert hash(Span(1, 2)) == hash((1, 2))


def test_users_plain_records_give_the_suites_answers_on_every_fixture() -> None:
    # The suite runs with frozen records; users do not. Both must say the same.
    root = Path(__file__).parent.parent / "fixtures"
    files = [str(p) for p in sorted(root.rglob("Dockerfile*"))]
    checks = ["check", "--isolated", "--no-cache", "--exit-zero", "--format", "json"]
    checks += ["--select", "DA"]
    fixes = ["fix", "--isolated", "--diff", "--unsafe-fixes", "--select", "DA"]
    plain = {k: v for k, v in os.environ.items() if k != "DOCKERARCH_FROZEN"}
    for command in (checks, fixes):
        outputs = [
            subprocess.run(
                [sys.executable, "-m", "dockerarch", *command, *files],
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
            for env in (plain, os.environ)
        ]
        assert outputs[0].returncode == outputs[1].returncode
        assert outputs[0].stdout == outputs[1].stdout
        assert outputs[0].stdout


def _kinds(monkeypatch: pytest.MonkeyPatch, frozen: bool) -> list[type[Any]]:
    """The same record definitions, made frozen or plain: no fields, one, a field left
    out of comparison or hashing, a body's own __eq__ or __hash__, slots, a subclass,
    fields set by factories, by __post_init__ or not by the caller, ordering, and a
    mutable record."""
    monkeypatch.setattr(records, "FROZEN", frozen)

    @records.record
    class Empty:
        pass

    @records.record
    class One:
        x: int

    @records.record(slots=True)
    class Partly:
        a: int
        b: list[int] = records.field(default_factory=list, compare=False, repr=False)
        c: str = records.field(default="c", hash=False)

    @records.record
    class OwnEq:
        a: int

        def __eq__(self, other: object) -> bool:
            return isinstance(other, OwnEq)

    @records.record
    class OwnHash:
        a: int

        def __hash__(self) -> int:
            return 7

    @records.record
    class Child(One):
        y: str = "y"

    @records.record(slots=True)
    class Derived:
        a: int
        twice: int = records.field(init=False, repr=False, compare=False)
        seen: tuple[int, ...] = records.field(default=(), init=False)
        made: dict[str, int] = records.field(default_factory=dict, init=False)

        def __post_init__(self) -> None:
            object.__setattr__(self, "twice", 2 * self.a)

    @records.record(slots=True, order=True)
    class Ordered:
        a: int
        b: str = "b"

    @records.record(frozen=False)
    class Mutable:
        a: int
        items: list[int] = records.field(default_factory=list)

    return [Empty, One, Partly, OwnEq, OwnHash, Child, Derived, Ordered, Mutable]


def _samples(kind: type[Any]) -> list[Any]:
    args: dict[str, list[tuple[Any, ...]]] = {
        "Empty": [()],
        "One": [(1,), (2,)],
        "Partly": [(1, [1], "c"), (1, [2], "c"), (1, [1], "d"), (2, [1], "c")],
        "OwnEq": [(1,), (2,)],
        "OwnHash": [(1,), (2,)],
        "Child": [(1, "y"), (1, "z"), (2, "y")],
        "Derived": [(1,), (2,)],
        "Ordered": [(1, "a"), (1, "b"), (2, "a")],
        "Mutable": [(1,), (1, [2]), (2,)],
    }
    return [kind(*a) for a in args[kind.__name__]]


def _hash(obj: Any) -> int | str:
    try:
        return hash(obj)
    except TypeError as exc:
        return str(exc)


def test_plain_records_repr_compare_and_hash_as_frozen_dataclasses(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    frozen, plain = _kinds(monkeypatch, True), _kinds(monkeypatch, False)
    for f_kind, p_kind in zip(frozen, plain, strict=True):
        assert p_kind.__match_args__ == f_kind.__match_args__
        assert hasattr(p_kind, "__slots__") == hasattr(f_kind, "__slots__")
        fs, ps = _samples(f_kind), _samples(p_kind)
        for f1, p1 in zip(fs, ps, strict=True):
            assert repr(f1) == repr(p1)
            assert _hash(f1) == _hash(p1)
            assert records.replace(p1) == p1 and records.replace(p1) is not p1
            for f2, p2 in zip(fs, ps, strict=True):
                assert (f1 == f2) == (p1 == p2), (f1, f2)
                if f_kind.__name__ == "Ordered":
                    assert (f1 < f2, f1 <= f2, f1 > f2) == (p1 < p2, p1 <= p2, p1 > p2)
            assert (p1 == object()) is False
    one, child = plain[1], plain[5]
    assert one(1) != child(1, "y")  # another class never compares equal, as in dataclasses


def test_plain_records_initialise_fields_as_dataclasses_do(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    Partly, Derived, Mutable = (_kinds(monkeypatch, False)[i] for i in (2, 6, 8))
    first, second = Partly(1), Partly(1)
    assert first.b == [] and first.b is not second.b  # a factory's value per instance
    derived = Derived(3)
    assert (derived.twice, derived.seen, derived.made) == (6, (), {})
    with pytest.raises(ValueError, match="init=False"):
        records.replace(derived, seen=(1,))
    assert records.replace(Partly(1, [1]), a=2) == Partly(2, [1])
    with pytest.raises(TypeError):
        records.replace(Partly(1), nope=1)
    with pytest.raises(AttributeError):
        first.other = 1  # slots: no attributes beyond the fields
    mutable = Mutable(1)
    mutable.a = 2
    assert mutable == Mutable(2)


GEN = load_script("gen_record_inits")


def test_the_compiled_init_module_holds_every_shape_in_use() -> None:
    module = Path(GEN.DEFAULT_OUTPUT)
    assert module.read_text(encoding="utf-8") == GEN.render(GEN.shapes_in_use()), (
        f"{module.name} is stale: run `{GEN.COMMAND}` and commit the result"
    )


def test_a_shape_the_module_lacks_is_compiled_when_first_asked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A rule pack's record may have any shape: thirty fields, every other with a default.
    shape = "ad" * 15
    assert shape not in GEN.shapes_in_use()
    monkeypatch.setattr(records, "FROZEN", False)
    fields = {f"f{i}": int for i in range(30)}
    body: dict[str, Any] = {"__annotations__": fields}
    body.update({f"f{i}": records.field(default=i, init=False) for i in range(1, 30, 2)})
    Wide = records.record(type("Wide", (), body))
    wide = Wide(*range(0, 30, 2))
    assert [getattr(wide, f"f{i}") for i in range(30)] == list(range(30))
    assert shape in records.SHAPES
