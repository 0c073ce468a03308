"""``parse_script``: a RUN script as simple commands, each with the arch guard it runs under."""

from __future__ import annotations

import _thread
import gc
import importlib
import importlib.machinery
import sys
from types import ModuleType

from dockerarch.records import record
from dockerarch.shell.arch import EMPTY, Pred, Sym, probe_kind
from dockerarch.shell.evaluate import Evaluator, NodeKey, command_parts, key, statements
from dockerarch.shell.model import (
    ARCHES,
    EVERYWHERE,
    ArchProbe,
    Assignment,
    Command,
    Guard,
    Script,
    Word,
)
from dockerarch.shell.words import (
    WORD_TYPES,
    Kind,
    Source,
    atoms,
    empty_word,
    encode,
    make_word,
    plain_word,
)
from dockerarch.syntax.positions import SourceMap, Span

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import TypeAlias

    import tree_sitter as ts

#: A Parser is not safe to share between threads: one per thread, by thread id (a thread
#: that gets a finished one's id takes over its parser). _thread rather than threading,
#: whose import is 1.6% of a one-file run.
_PARSERS: dict[int, ts.Parser] = {}
# Leaf tokens: never hold a command substitution.
_NO_SUBSTITUTION = frozenset(
    {"word", "number", "raw_string", "ansi_c_string", "extglob_pattern", "regex", "variable_name"}
)


def _binding(package: str) -> ModuleType:
    """``package._binding``, the compiled part of ``tree_sitter`` or ``tree_sitter_bash``,
    loaded without running the package's ``__init__``.

    tree_sitter_bash's imports importlib.resources (~6 ms of a one-file run) for highlight
    queries we never read; tree_sitter's imports typing (5%) for one Protocol. The binding is
    found and loaded by the standard import machinery, and registered under its own name,
    so a later ``import tree_sitter`` or ``import tree_sitter_bash`` reuses it; any other
    layout (a package not on a path entry, a binding that is not an extension module)
    falls back to the plain import.
    """
    name = f"{package}._binding"
    loaded = sys.modules.get(name)
    if loaded is not None:
        return loaded
    found = importlib.machinery.PathFinder.find_spec(package)
    locations = found.submodule_search_locations if found is not None else None
    spec = importlib.machinery.PathFinder.find_spec(name, locations) if locations else None
    if spec is None or not isinstance(spec.loader, importlib.machinery.ExtensionFileLoader):
        return importlib.import_module(name)
    module = spec.loader.create_module(spec)
    # What importlib.util.module_from_spec sets on an extension module; importing
    # importlib.util (with contextlib) would cost a one-file check 1.5%.
    module.__spec__ = spec
    module.__loader__ = spec.loader
    module.__package__ = package
    spec.loader.exec_module(module)
    sys.modules[name] = module
    return module


def bash_parser() -> ts.Parser:
    ident = _thread.get_ident()
    parser = _PARSERS.get(ident)
    if parser is None:
        runtime = _binding("tree_sitter")
        grammar = runtime.Language(_binding("tree_sitter_bash").language())
        parser = _PARSERS[ident] = runtime.Parser(grammar)
    return parser


def parse_script(text: str, source_map: SourceMap | None = None) -> Script:
    """Parse ``text`` (a joined RUN line or heredoc body). ``source_map`` maps its
    offsets into the Dockerfile; without one, spans are offsets into ``text``.
    Never raises on malformed shell: what parsed is returned, errors are listed."""
    smap = source_map if source_map is not None else SourceMap.identity(0, len(text))
    src = Source(text, smap)
    root = bash_parser().parse(encode(text)).root_node
    walker = _Walker(src)
    # The walk allocates hundreds of thousands of long-lived objects (nodes,
    # words, spans) and no cycles; generational GC would rescan them over and
    # over, doubling the time on large scripts.
    paused = gc.isenabled()
    if paused:
        gc.disable()
    try:
        walker.run(root)
    finally:
        if paused:
            gc.enable()

    def start(item: Command | Assignment | ArchProbe) -> int:
        return item.span.start

    return Script(
        commands=tuple(sorted(walker.commands, key=start)),
        assignments=tuple(sorted(walker.assignments, key=start)),
        arch_probes=tuple(sorted(walker.probes, key=start)),
        arch_mappings=walker.mappings,
        errors=_errors(src, root),
    )


def _errors(src: Source, root: ts.Node) -> tuple[Span, ...]:
    if not root.has_error:
        return ()
    out: list[Span] = []
    stack = [root]
    while stack:
        n = stack.pop()
        if n.is_error or n.is_missing:
            out.append(src.node_span(n))
        elif n.has_error:
            stack.extend(n.children)
    return tuple(sorted(out, key=lambda s: (s.start, s.end)))


@record(slots=True)
class _Ctx:
    guard: Guard
    in_substitution: bool
    subshell: bool  # assignments here do not reach the rest of the script

    def narrow(self, pred: Pred) -> _Ctx:
        guard = self.guard.narrow(pred.true, pred.decided, pred.kinds)
        return _Ctx(guard, self.in_substitution, self.subshell)


@record(frozen=False, slots=True)
class _Block:
    """Statements run in order; each may narrow the context of those after it
    (``[ "$TARGETARCH" = amd64 ] || exit 0``)."""

    nodes: list[ts.Node]
    index: int
    ctx: _Ctx


_Task: TypeAlias = "_Block | tuple[ts.Node, _Ctx]"


class _Walker:
    def __init__(self, src: Source) -> None:
        self.src = src
        self.ev = Evaluator(src)
        self.commands: list[Command] = []
        self.assignments: list[Assignment] = []
        self.probes: list[ArchProbe] = []
        self.mappings: dict[str, dict[str, str]] = {}
        self._extra_args: dict[NodeKey, list[ts.Node]] = {}

    def run(self, root: ts.Node) -> None:
        # Explicit stack: shell nests arbitrarily deep ($( $( ... ) ), if in if).
        stack: list[_Task] = [_Block(statements(root.children), 0, _Ctx(EVERYWHERE, False, False))]
        while stack:
            task = stack.pop()
            if isinstance(task, _Block):
                self._block(task, stack)
            else:
                self._visit(task[0], task[1], stack)

    def _block(self, task: _Block, stack: list[_Task]) -> None:
        if task.index >= len(task.nodes):
            return
        node = task.nodes[task.index]
        if task.index + 1 < len(task.nodes):
            cont = self.ev.continues(node)
            after = task.ctx if cont is None else task.ctx.narrow(cont)
            stack.append(_Block(task.nodes, task.index + 1, after))
        stack.append((node, task.ctx))

    def _visit(self, node: ts.Node, ctx: _Ctx, stack: list[_Task]) -> None:
        t = node.type
        if t == "command":
            self._command(node, ctx, stack)
        elif t == "redirected_statement":
            self._redirected(node, ctx, stack)
        elif t == "declaration_command":
            self._declaration(node, ctx, stack)
        elif t == "variable_assignment":
            self._assignment(node, ctx, persist=True)
            self._scan(node.child_by_field_name("value"), ctx, stack)
        elif t == "if_statement":
            for clause in reversed(self.ev.if_info(node).clauses):
                stack.append(_Block(clause.body, 0, ctx.narrow(clause.taken)))
                stack.append(_Block(clause.conditions, 0, ctx.narrow(clause.reach)))
        elif t == "case_statement":
            for body, pred in reversed(self.ev.case_info(node).items):
                stack.append(_Block(body, 0, ctx.narrow(pred)))
            self._scan(node.child_by_field_name("value"), ctx, stack)
        elif t == "while_statement":
            self._while(node, ctx, stack)
        elif t == "list":
            self._list(node, ctx, stack)
        elif t in ("for_statement", "select_statement"):
            var = node.child_by_field_name("variable")
            if var is not None:
                self._store(self.src.node_text(var), None, ctx)
            self._generic(node, ctx, stack)
        elif t == "pipeline":
            inner = _Ctx(ctx.guard, ctx.in_substitution, True)
            stack.extend((k, inner) for k in reversed(statements(node.children)))
        elif t in ("subshell", "command_substitution", "process_substitution"):
            sub = t != "subshell" or ctx.in_substitution
            stack.append(_Block(statements(node.children), 0, _Ctx(ctx.guard, sub, True)))
        elif t in ("compound_statement", "do_group", "program"):
            stack.append(_Block(statements(node.children), 0, ctx))
        elif t == "unset_command":
            for k in node.named_children:
                self._store(self.src.node_text(k), EMPTY, ctx)
        else:
            self._generic(node, ctx, stack)

    def _generic(self, node: ts.Node, ctx: _Ctx, stack: list[_Task]) -> None:
        for k in reversed(node.named_children):
            self._scan(k, ctx, stack)

    def _scan(self, node: ts.Node | None, ctx: _Ctx, stack: list[_Task]) -> None:
        """Queue ``node`` unless it is a word with no command substitution in it."""
        if node is None:
            return
        t = node.type
        if t in _NO_SUBSTITUTION:
            return
        if t in WORD_TYPES:
            text = self.src.node_text(node)
            # How a command or process substitution starts: "$(", "`", "<(", ">(".
            if not ("$(" in text or "`" in text or "<(" in text or ">(" in text):
                return
        stack.append((node, ctx))

    def _word(self, node: ts.Node, guard: Guard) -> Word:
        plain = plain_word(self.src, node)
        if plain is not None:
            return plain
        parts = atoms(self.src, node)
        per_arch = None
        for kind, *_ in parts:
            if kind is Kind.EXPANSION:
                per_arch = self._per_arch(self.ev.word_sym(parts), guard)
                break
        return make_word(self.src, node, parts, per_arch)

    @staticmethod
    def _per_arch(sym: Sym | None, guard: Guard) -> dict[str, str] | None:
        """The word's value on each arch that reaches it (others may hold unset variables)."""
        if sym is None or not sym.kinds:
            return None
        values = sym.per_arch()
        if guard.archs is not None:
            values = {a: v for a, v in values.items() if a in guard.archs}
        return values or None

    def _redirected(self, node: ts.Node, ctx: _Ctx, stack: list[_Task]) -> None:
        redirects = node.children_by_field_name("redirect")
        # tree-sitter-bash reads `cmd 2>&1 more args` as extra redirect
        # destinations (and may wrap a whole `a && cmd` list); the shell passes
        # them to the last command as arguments.
        extra = [d for r in redirects for d in r.children_by_field_name("destination")[1:]]
        target = node.child_by_field_name("body")
        while target is not None and target.type in ("list", "pipeline"):
            kids = statements(target.children)
            target = kids[-1] if kids else None
        if extra and target is not None and target.type == "command":
            self._extra_args[key(target)] = extra
        self._generic(node, ctx, stack)

    def _command(self, node: ts.Node, ctx: _Ctx, stack: list[_Task]) -> None:
        prefix, name_node, arg_nodes, other = command_parts(node)
        # Extra arguments are rare (``cmd 2>&1 more``): no key to build when none wait.
        extra = self._extra_args.pop(key(node), None) if self._extra_args else None
        env = tuple(self._assignment(a, ctx, persist=False) for a in prefix)
        name = None if name_node is None else self._word(name_node, ctx.guard)
        if extra:
            arg_nodes = [*arg_nodes, *extra]
        word, guard = self._word, ctx.guard
        args = tuple([word(a, guard) for a in arg_nodes])
        start = self.src.start(node)
        end = max(self.src.end(node), self.src.end(extra[-1])) if extra else self.src.end(node)
        span = self.src.span(start, end)
        cmd = Command(name, args, env, span, ctx.guard, ctx.in_substitution)
        self.commands.append(cmd)
        values = [w.value for w in cmd.words]
        kind = probe_kind(values)
        if kind is not None:
            self.probes.append(ArchProbe(kind, span, ctx.guard))
        if values and values[0] in ("read", "mapfile", "readarray", "getopts"):
            # These assign their operands at run time: forget what we knew.
            for v in values[1:]:
                if v is not None and v.isidentifier():
                    self._store(v, None, ctx)
        children = [a.child_by_field_name("value") for a in prefix]
        for k in reversed([*children, name_node, *arg_nodes, *other]):
            # _scan's first test, before the call: most of a command's words are plain.
            if k is not None and k.type not in _NO_SUBSTITUTION:
                self._scan(k, ctx, stack)

    def _declaration(self, node: ts.Node, ctx: _Ctx, stack: list[_Task]) -> None:
        kids = node.children
        if not kids:
            return
        keyword = kids[0]
        start, end = self.src.start(keyword), self.src.end(keyword)
        name = make_word(self.src, keyword, [(Kind.UNQUOTED, start, end, None)])
        args: list[Word] = []
        scan: list[ts.Node | None] = []
        for k in statements(kids[1:]):
            if k.type == "variable_assignment":
                self._assignment(k, ctx, persist=True)
                scan.append(k.child_by_field_name("value"))
            else:
                scan.append(k)
            args.append(self._word(k, ctx.guard))
        span = self.src.node_span(node)
        self.commands.append(Command(name, tuple(args), (), span, ctx.guard, ctx.in_substitution))
        for pending in reversed(scan):
            self._scan(pending, ctx, stack)

    def _assignment(self, node: ts.Node, ctx: _Ctx, persist: bool) -> Assignment:
        src = self.src
        name_node = node.child_by_field_name("name")
        value_node = node.child_by_field_name("value")
        name = "" if name_node is None else src.node_text(name_node)
        sym: Sym | None
        if value_node is None:
            word = empty_word(src, src.end(node))
            sym = EMPTY
        else:
            parts = atoms(src, value_node)
            sym = self.ev.word_sym(parts)
            word = make_word(src, value_node, parts, self._per_arch(sym, ctx.guard))
        if value_node is not None and value_node.type == "array":
            sym = None
        if any(c.type == "+=" for c in node.children):
            sym = None
        kinds = sym.kinds if sym is not None else frozenset()
        if ctx.guard.archs is not None:
            kinds |= ctx.guard.probe_kinds
        span = src.node_span(node)
        name_span = span if name_node is None else src.node_span(name_node)
        assignment = Assignment(name, word, span, name_span, ctx.guard, kinds)
        if persist:
            self.assignments.append(assignment)
            if name.isidentifier():
                self._store(name, sym, ctx)
        return assignment

    def _store(self, name: str, sym: Sym | None, ctx: _Ctx) -> None:
        """Record ``name=sym`` executed under ``ctx`` in the evaluator's variables."""
        if ctx.subshell:
            return
        env = self.ev.env
        guard = ctx.guard
        if not guard.decided or (sym is None and guard.archs is not None):
            env[name] = None
        elif guard.archs is None:
            env[name] = sym
        else:
            assert sym is not None
            prev = env[name] if name in env else self.ev.lookup(name) or EMPTY
            if prev is None:
                return
            values = {a: sym.values[a] if a in guard.archs else prev.values[a] for a in ARCHES}
            env[name] = Sym(values, prev.kinds | sym.kinds | guard.probe_kinds)
        new = env[name]
        if new is not None and new.kinds and (per_arch := new.per_arch()):
            self.mappings[name] = per_arch

    def _while(self, node: ts.Node, ctx: _Ctx, stack: list[_Task]) -> None:
        conds: list[ts.Node] = []
        for i, k in enumerate(node.children):
            if node.field_name_for_child(i) == "condition" and k.is_named:
                conds.append(k)
        conds = statements(conds)
        pred = self.ev.pred(conds[-1]) if conds else None
        if pred is not None and node.children and node.children[0].type == "until":
            pred = pred.negate()
        body = node.child_by_field_name("body")
        if body is not None:
            stack.append((body, ctx if pred is None else ctx.narrow(pred)))
        stack.append(_Block(conds, 0, ctx))

    def _list(self, node: ts.Node, ctx: _Ctx, stack: list[_Task]) -> None:
        kids = statements(node.children)
        ops = [c.type for c in node.children if not c.is_named]
        if len(kids) != 2 or not ({"&&", "||"} & set(ops)):
            self._generic(node, ctx, stack)
            return
        lhs, rhs = kids
        pred = self.ev.pred(lhs)
        stack.append((rhs, ctx.narrow(pred if "&&" in ops else pred.negate())))
        stack.append((lhs, ctx))
