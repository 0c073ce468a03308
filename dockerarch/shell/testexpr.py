"""``test`` / ``[ ]`` / ``[[ ]]`` expressions as arch predicates."""

from __future__ import annotations

import re
from collections.abc import Callable

from dockerarch.shell.arch import NEUTRAL, Pred, Sym, is_archy, match, pattern_is_archy, unknown
from dockerarch.shell.model import ARCHES, ProbeKind
from dockerarch.shell.words import atoms, glob_regex

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import TypeAlias

    import tree_sitter as ts

    from dockerarch.shell.evaluate import Evaluator

# A test token: (operator text, None) or (None, operand node).
Token: TypeAlias = "tuple[str | None, ts.Node | None]"

TEST_BINARY = frozenset(
    {"=", "==", "!=", "=~", "<", ">", "-eq", "-ne", "-lt", "-le", "-gt", "-ge", "-nt", "-ot", "-ef"}
)
TEST_UNARY = frozenset("-" + c for c in "abcdefghknoprstuvwxzGLNOS")
TEST_OPERATORS = TEST_BINARY | TEST_UNARY | {"!", "(", ")", "&&", "||"}
_MAX_TEST_DEPTH = 64


class _Malformed(Exception):
    pass


class TestParser:
    """``test`` / ``[ ]`` / ``[[ ]]`` expressions over flattened tokens."""

    def __init__(self, ev: Evaluator, tokens: list[Token], double: bool) -> None:
        self.ev = ev
        self.tokens = tokens
        self.double = double
        self.i = 0
        self.depth = 0

    def run(self) -> Pred:
        try:
            p = self._or()
        except _Malformed:
            return self._fallback()
        return p if self.i == len(self.tokens) else self._fallback()

    def _fallback(self) -> Pred:
        kinds: frozenset[ProbeKind] = frozenset()
        archy = False
        for _, node in self.tokens:
            if node is None:
                continue
            sym = self.ev.node_sym(node)
            if sym is not None:
                kinds |= sym.kinds
                archy = archy or bool(sym.kinds) or any(map(is_archy, sym.values["amd64"]))
        return unknown(archy, kinds)

    def _op(self) -> str | None:
        return self.tokens[self.i][0] if self.i < len(self.tokens) else None

    def _or(self) -> Pred:
        p = self._and()
        while self._op() in ("-o", "||"):
            self.i += 1
            p = p.disj(self._and())
        return p

    def _and(self) -> Pred:
        p = self._not()
        while self._op() in ("-a", "&&"):
            self.i += 1
            p = p.conj(self._not())
        return p

    def _not(self) -> Pred:
        self.depth += 1
        if self.depth > _MAX_TEST_DEPTH:
            raise _Malformed
        try:
            if self._op() == "!":
                self.i += 1
                return self._not().negate()
            return self._primary()
        finally:
            self.depth -= 1

    def _operand(self, at: int) -> ts.Node | None:
        return self.tokens[at][1] if at < len(self.tokens) else None

    def _primary(self) -> Pred:
        if self.i >= len(self.tokens):
            raise _Malformed
        op, node = self.tokens[self.i]
        if op == "(":
            self.i += 1
            p = self._or()
            if self._op() != ")":
                raise _Malformed
            self.i += 1
            return p
        if op in TEST_UNARY and (operand := self._operand(self.i + 1)) is not None:
            self.i += 2
            return self._unary(op, operand)
        if node is None:
            raise _Malformed
        self.i += 1
        binary = self._op()
        if binary in TEST_BINARY and (rhs := self._operand(self.i + 1)) is not None:
            self.i += 2
            return self._binary(node, binary, rhs)
        return self._unary("-n", node)

    def _unary(self, op: str, node: ts.Node) -> Pred:
        sym = self.ev.node_sym(node)
        if op in ("-z", "-n"):
            if sym is None:
                return NEUTRAL
            p = match(sym, lambda v: v == "")
            return p if op == "-z" else p.negate()
        kinds = NONE_KINDS if sym is None else sym.kinds
        return unknown(bool(kinds), kinds)

    def _binary(self, left: ts.Node, op: str, right: ts.Node) -> Pred:
        ev = self.ev
        lsym = ev.node_sym(left)
        if op in ("=", "==", "!="):
            rx = glob_regex(ev.src, atoms(ev.src, right)) if self.double else None
            if rx is not None:
                p = unknown(pattern_is_archy(rx)) if lsym is None else match(lsym, _full(rx))
            else:
                p = _equal(lsym, ev.node_sym(right))
            return p.negate() if op == "!=" else p
        if op == "=~":
            text = ev.static(right)
            if right.type in ("string", "raw_string") and text is not None:
                text = re.escape(text)
            rx = _regex(text)
            if rx is None or lsym is None:
                return unknown(
                    (lsym is not None and bool(lsym.kinds))
                    or (rx is not None and pattern_is_archy(rx))
                )
            return match(lsym, lambda v: rx.search(v) is not None)
        rsym = ev.node_sym(right)
        kinds = (lsym.kinds if lsym else NONE_KINDS) | (rsym.kinds if rsym else NONE_KINDS)
        return unknown(bool(kinds), kinds)


NONE_KINDS: frozenset[ProbeKind] = frozenset()


def _full(rx: re.Pattern[str]) -> Callable[[str], bool]:
    return lambda v: rx.fullmatch(v) is not None


def _regex(text: str | None) -> re.Pattern[str] | None:
    if text is None:
        return None
    try:
        return re.compile(text)
    except (re.error, OverflowError, RecursionError):
        return None


def _equal(left: Sym | None, right: Sym | None) -> Pred:
    if left is None or right is None:
        known = left or right
        if known is None:
            return NEUTRAL
        if known.kinds:
            return unknown(True, known.kinds)
        return unknown(any(is_archy(v) for vs in known.values.values() for v in vs))
    true: set[str] = set()
    false: set[str] = set()
    for arch in ARCHES:
        lv, rv = left.values[arch], right.values[arch]
        if any(x == y for x in lv for y in rv):
            true.add(arch)
        if any(x != y for x in lv for y in rv):
            false.add(arch)
    return Pred(frozenset(true), frozenset(false), True, left.kinds | right.kinds)
