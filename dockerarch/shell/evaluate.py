"""Evaluating words and tests against the variables the script has assigned so far."""

from __future__ import annotations

import re

from dockerarch.records import record
from dockerarch.shell.arch import (
    FALSE,
    NEUTRAL,
    PROBE_VALUES,
    TARGET_SYMS,
    TRUE,
    Pred,
    Sym,
    concat,
    expansion_op,
    filter_function,
    grep_test,
    match,
    pattern_is_archy,
    probe_kind,
    strip_function,
    unknown,
)
from dockerarch.shell.testexpr import TEST_OPERATORS, TestParser, Token
from dockerarch.shell.words import (
    WORD_TYPES,
    Atom,
    Kind,
    Source,
    atoms,
    expansion_name,
    glob_regex,
    literal_value,
    static_value,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    import tree_sitter as ts

NodeKey = tuple[int, int, int]

_EXITS = frozenset({"exit", "return", "break", "continue"})
_ENDS_BLOCK = _EXITS | {"exec"}
_BRACKETS = frozenset({"[", "]", "[[", "]]"})
_MAX_NESTING = 8


def key(node: ts.Node) -> NodeKey:
    return (node.start_byte, node.end_byte, node.kind_id)


def statements(nodes: list[ts.Node]) -> list[ts.Node]:
    return [n for n in nodes if n.is_named and n.type not in ("comment", "heredoc_body")]


def command_parts(
    node: ts.Node,
) -> tuple[list[ts.Node], ts.Node | None, list[ts.Node], list[ts.Node]]:
    """A ``command`` node as (prefix assignments, name, arguments, redirections)."""
    name = node.child_by_field_name("name")
    if name is not None:
        inner = name.named_children
        if len(inner) == 1:
            name = inner[0]
    prefix = [k for k in node.children if k.type == "variable_assignment"]
    args = node.children_by_field_name("argument")
    return prefix, name, args, node.children_by_field_name("redirect")


@record(slots=True)
class Clause:
    """One branch of an ``if``: its condition statements, the test under which
    they run, its body, and the test under which the body runs."""

    conditions: list[ts.Node]
    reach: Pred
    body: list[ts.Node]
    taken: Pred


@record(slots=True)
class IfInfo:
    clauses: list[Clause]
    fallthrough: Pred  # no branch taken (FALSE when there is an ``else``)


@record(slots=True)
class CaseInfo:
    items: list[tuple[list[ts.Node], Pred]]  # (body statements, when it runs)
    no_match: Pred


class Evaluator:
    """Values and tests, given the variables assigned so far (``env``).

    ``env`` maps a name to its value, or None once it holds something we
    cannot know; names never assigned fall back to the BuildKit TARGET* args.
    """

    def __init__(self, src: Source) -> None:
        self.src = src
        self.env: dict[str, Sym | None] = {}
        self._preds: dict[NodeKey, Pred] = {}
        self._ifs: dict[NodeKey, IfInfo] = {}
        self._cases: dict[NodeKey, CaseInfo] = {}
        self._nesting = 0

    # -- values ----------------------------------------------------------

    def lookup(self, name: str) -> Sym | None:
        if name in self.env:
            return self.env[name]
        return TARGET_SYMS.get(name)

    def static(self, node: ts.Node) -> str | None:
        return static_value(self.src, atoms(self.src, node))

    def command_words(self, node: ts.Node) -> tuple[list[str | None], list[ts.Node]]:
        """Static values of a command's name and arguments, and the argument nodes."""
        _, name, args, _ = command_parts(node)
        if name is None:
            return [], args
        return [self.static(n) for n in (name, *args)], args

    def node_sym(self, node: ts.Node) -> Sym | None:
        return self.word_sym(atoms(self.src, node))

    def word_sym(self, parts: list[Atom]) -> Sym | None:
        syms: list[Sym] = []
        for kind, start, end, node in parts:
            if kind is Kind.EXPANSION:
                sym = None if node is None else self.expansion_sym(node)
                if sym is None:
                    return None
            else:
                sym = Sym.const(literal_value(kind, self.src.text[start:end]))
            syms.append(sym)
        if len(syms) == 1:
            return syms[0]
        return concat(syms)

    def expansion_sym(self, node: ts.Node) -> Sym | None:
        t = node.type
        if t == "simple_expansion":
            name = expansion_name(self.src, node)
            return None if name is None else self.lookup(name)
        if t == "expansion":
            return self._braced(node)
        if t == "command_substitution" and self._nesting < _MAX_NESTING:
            # `$(echo $(echo ...))` recurses through output_sym; bound it.
            self._nesting += 1
            try:
                return self.output_sym(statements(node.children))
            finally:
                self._nesting -= 1
        return None

    def _braced(self, node: ts.Node) -> Sym | None:
        parsed = expansion_op(self.src, node)
        if parsed is None:
            return None
        name, op, operand = parsed
        base = None if name is None else self.lookup(name)
        if base is None or op is None:
            return base
        if op in (":-", "-", ":=", "="):
            # An arch on which the variable was never set holds "" here.
            if not any("" in values for values in base.values.values()):
                return base
            default = "".join(v for v in map(self.static, operand) if v is not None)
            if any(self.static(n) is None for n in operand):
                return None
            return base.map(lambda v: default if v == "" else v)
        if op in ("#", "##", "%", "%%"):
            if not operand:
                return base
            start, end = self.src.start(operand[0]), self.src.end(operand[-1])
            rx = glob_regex(self.src, [(Kind.UNQUOTED, start, end, None)])
            if rx is None:
                return None
            return base.map(strip_function(rx, op.startswith("#"), len(op) == 2))
        if op in (",,", "^^") and not operand:
            return base.map(str.lower if op == ",," else str.upper)
        if op in (":?", "?"):
            return base
        return None

    def output_sym(self, stmts: list[ts.Node]) -> Sym | None:
        """What a command substitution prints, if it is a probe or a filtered probe."""
        if len(stmts) != 1:
            return None
        stmt = stmts[0]
        if stmt.type == "command":
            return self._command_output(stmt)
        if stmt.type == "pipeline":
            return self._pipeline_output(statements(stmt.children))
        return None

    def _command_output(self, node: ts.Node) -> Sym | None:
        words, args = self.command_words(node)
        kind = probe_kind(words)
        if kind is not None:
            return Sym.probe(kind, PROBE_VALUES[kind])
        if words and words[0] == "echo" and len(args) == 1:
            return self.node_sym(args[0])
        return None

    def _pipeline_output(self, cmds: list[ts.Node]) -> Sym | None:
        if not cmds or any(c.type != "command" for c in cmds):
            return None
        sym = self._command_output(cmds[0])
        for cmd in cmds[1:]:
            if sym is None:
                return None
            f = filter_function(self.command_words(cmd)[0])
            if f is None:
                return None
            sym = sym.map(f)
        return sym

    # -- tests -----------------------------------------------------------

    def pred(self, node: ts.Node) -> Pred:
        """The exit status of a statement used as a condition, as a Pred."""
        memo = self._preds
        k = key(node)
        if k in memo:
            return memo[k]
        # Post-order without recursion: `a && b && c ...` nests one list per operator.
        stack: list[tuple[ts.Node, bool]] = [(node, False)]
        while stack:
            n, expanded = stack.pop()
            nk = key(n)
            if nk in memo:
                continue
            deps = self._deps(n)
            pending = [d for d in deps if key(d) not in memo]
            if pending and not expanded:
                stack.append((n, True))
                stack.extend((d, False) for d in pending)
                continue
            memo[nk] = self._combine(n, [memo.get(key(d), NEUTRAL) for d in deps])
        return memo[k]

    def _deps(self, n: ts.Node) -> list[ts.Node]:
        t = n.type
        if t == "list":
            return statements(n.children)[:2]
        if t in ("negated_command", "redirected_statement"):
            return statements(n.children)[:1]
        if t in ("compound_statement", "subshell", "pipeline"):
            return statements(n.children)[-1:]
        return []

    def _combine(self, n: ts.Node, deps: list[Pred]) -> Pred:
        t = n.type
        if t == "list" and len(deps) == 2:
            ops = [c.type for c in n.children if not c.is_named]
            if "&&" in ops:
                return deps[0].conj(deps[1])
            if "||" in ops:
                return deps[0].disj(deps[1])
            return deps[1]
        if t == "negated_command" and deps:
            return deps[0].negate()
        if t == "pipeline":
            # tree-sitter-bash binds `! a | b` as `(! a) | b`; the shell negates the pipeline.
            cmds = statements(n.children)
            negated = bool(cmds) and cmds[0].type == "negated_command"
            if negated:
                cmds[0] = statements(cmds[0].children)[-1]
            p = self._grep_pipeline(cmds)
            if p is None:
                p = deps[0] if deps else NEUTRAL
            return p.negate() if negated else p
        if t in ("redirected_statement", "compound_statement", "subshell") and deps:
            return deps[0]
        if t == "test_command":
            kids = [c for c in n.children if c.type not in _BRACKETS]
            double = bool(n.children) and n.children[0].type == "[["
            return TestParser(self, self._flatten(kids), double).run()
        if t == "command":
            return self._command_pred(n)
        if t in ("variable_assignment", "variable_assignments"):
            text = self.src.node_text(n)
            return NEUTRAL if "$(" in text or "`" in text else TRUE
        return NEUTRAL

    def _flatten(self, kids: list[ts.Node]) -> list[Token]:
        out: list[Token] = []
        stack = list(reversed(kids))
        while stack:
            k = stack.pop()
            if k.type in WORD_TYPES or k.type == "variable_name":
                out.append((None, k))
            elif k.child_count == 0:
                out.append((self.src.node_text(k), None))
            else:
                stack.extend(reversed(k.children))
        return out

    def _command_pred(self, node: ts.Node) -> Pred:
        words, args = self.command_words(node)
        if not words:
            return TRUE
        name = words[0]
        if name in ("test", "["):
            values = words[1:]
            if name == "[" and values and values[-1] == "]":
                values, args = values[:-1], args[:-1]
            tokens: list[Token] = [
                (v, None) if v in TEST_OPERATORS else (None, a)
                for v, a in zip(values, args, strict=True)
            ]
            return TestParser(self, tokens, double=False).run()
        if name in ("true", ":", "echo", "printf"):
            return TRUE
        if name == "false":
            return FALSE
        return NEUTRAL

    def _grep_pipeline(self, cmds: list[ts.Node]) -> Pred | None:
        if len(cmds) < 2 or cmds[-1].type != "command":
            return None
        words, _ = self.command_words(cmds[-1])
        if not words or words[0] not in ("grep", "egrep"):
            return None
        test = grep_test([*(["-E"] if words[0] == "egrep" else []), *words[1:]])
        source = self._pipeline_output(cmds[:-1])
        if test is None or source is None:
            return None
        return match(source, test)

    # -- branches --------------------------------------------------------

    def if_info(self, node: ts.Node) -> IfInfo:
        k = key(node)
        if k in self._ifs:
            return self._ifs[k]
        clauses: list[Clause] = []
        reach = TRUE
        conds: list[ts.Node] = []
        body: list[ts.Node] = []
        tails: list[ts.Node] = []
        for i, c in enumerate(node.children):
            if c.type in ("elif_clause", "else_clause"):
                tails.append(c)
            elif node.field_name_for_child(i) == "condition":
                conds.append(c)
            else:
                body.append(c)
        parts = [(statements(conds), statements(body))]
        has_else = False
        for tail in tails:
            if tail.type == "else_clause":
                has_else = True
                parts.append(([], statements(tail.children)))
                continue
            kids = tail.children
            then = next((i for i, c in enumerate(kids) if c.type == "then"), len(kids))
            parts.append((statements(kids[:then]), statements(kids[then:])))
        for i, (cond, stmts) in enumerate(parts):
            if has_else and i == len(parts) - 1:
                clauses.append(Clause(cond, reach, stmts, reach))
                reach = FALSE
                break
            test = self.pred(cond[-1]) if cond else NEUTRAL
            clauses.append(Clause(cond, reach, stmts, reach.conj(test)))
            reach = reach.conj(test.negate())
        info = IfInfo(clauses, reach)
        self._ifs[k] = info
        return info

    def case_info(self, node: ts.Node) -> CaseInfo:
        k = key(node)
        if k in self._cases:
            return self._cases[k]
        subject = node.child_by_field_name("value")
        items = [c for c in node.named_children if c.type == "case_item"]
        patterns: list[list[re.Pattern[str] | None]] = []
        bodies: list[list[ts.Node]] = []
        terms: list[str] = []
        for item in items:
            pats = item.children_by_field_name("value")
            pat_keys = {key(p) for p in pats}
            patterns.append([glob_regex(self.src, atoms(self.src, p)) for p in pats])
            bodies.append(statements([c for c in item.children if key(c) not in pat_keys]))
            terms.append(
                next((c.type for c in item.children if c.type in (";;", ";&", ";;&")), ";;")
            )
        sym = None if subject is None else self.node_sym(subject)
        if sym is None:
            archy = any(rx is not None and pattern_is_archy(rx) for ps in patterns for rx in ps)
            p = unknown(archy)
            info = CaseInfo([(b, p) for b in bodies], p)
        else:
            info = self._case_branches(sym, patterns, terms, bodies)
        self._cases[k] = info
        return info

    def _case_branches(
        self,
        sym: Sym,
        patterns: list[list[re.Pattern[str] | None]],
        terms: list[str],
        bodies: list[list[ts.Node]],
    ) -> CaseInfo:
        n = len(patterns)
        ran_true: list[set[str]] = [set() for _ in range(n)]
        ran_false: list[set[str]] = [set() for _ in range(n)]
        none_true: set[str] = set()
        none_false: set[str] = set()
        undecided_from = n
        for arch, values in sym.values.items():
            for v in values:
                ran: set[int] = set()
                i = 0
                while i < n:
                    rxs = patterns[i]
                    if any(rx is None for rx in rxs):
                        undecided_from = min(undecided_from, i)
                        break
                    if any(rx is not None and rx.fullmatch(v) for rx in rxs):
                        ran.add(i)
                        while terms[i] == ";&" and i + 1 < n:
                            i += 1
                            ran.add(i)
                        if terms[i] != ";;&":
                            break
                    i += 1
                for j in range(n):
                    (ran_true if j in ran else ran_false)[j].add(arch)
                (none_false if ran else none_true).add(arch)
        items: list[tuple[list[ts.Node], Pred]] = []
        for j in range(n):
            if j >= undecided_from:
                items.append((bodies[j], unknown(True, sym.kinds)))
            else:
                p = Pred(frozenset(ran_true[j]), frozenset(ran_false[j]), True, sym.kinds)
                items.append((bodies[j], p))
        if undecided_from < n:
            no_match = unknown(True, sym.kinds)
        else:
            no_match = Pred(frozenset(none_true), frozenset(none_false), True, sym.kinds)
        return CaseInfo(items, no_match)

    def continues(self, node: ts.Node) -> Pred | None:
        """When control reaches the statement after ``node``; None if always."""
        t = node.type
        if t == "list":
            kids = statements(node.children)
            if len(kids) == 2 and self._exits(kids[1]):
                ops = [c.type for c in node.children if not c.is_named]
                p = self.pred(kids[0])
                if "&&" in ops:
                    return p.negate()
                if "||" in ops:
                    return p
            return None
        if t == "if_statement":
            info = self.if_info(node)
            branches = [(c.body, c.taken) for c in info.clauses]
            return self._survivors(branches, info.fallthrough)
        if t == "case_statement":
            case = self.case_info(node)
            return self._survivors(case.items, case.no_match)
        return FALSE if self._exits(node) else None

    def _survivors(self, branches: list[tuple[list[ts.Node], Pred]], rest: Pred) -> Pred | None:
        if not any(body and self._exits(body[-1]) for body, _ in branches):
            return None
        out = rest
        for body, taken in branches:
            if not (body and self._exits(body[-1])):
                out = out.disj(taken)
        return out

    def _exits(self, node: ts.Node) -> bool:
        """Whether the statement always leaves the enclosing block (one level deep)."""
        if node.type == "redirected_statement":
            body = statements(node.children)
            node = body[0] if body else node
        if node.type == "compound_statement":
            body = statements(node.children)
            node = body[-1] if body else node
        if node.type != "command":
            return False
        name = node.child_by_field_name("name")
        if name is None or self.src.node_text(name) not in _ENDS_BLOCK:
            return False  # cheap pre-check: this runs for every statement
        words, args = self.command_words(node)
        return words[0] in _EXITS or (words[0] == "exec" and bool(args))
