"""What one target platform builds: a Dockerfile reduced to that platform's view.

:func:`render` keeps the stages the platform's build reaches (for the final
stage, or ``target`` like ``buildx --target``) and rewrites only what the
platform decides:

- numeric stage references (``COPY --from=3``) count only the stages kept;
- a FROM naming a stage through variables (``FROM build-${TARGETARCH} AS
  build``) gets the resolved stage name (``FROM build-arm64 AS build``); so
  does a FROM image that depends on the target platform and a ``COPY
  --from=`` naming a stage through variables. The chosen stage stays where it
  is, verbatim: stages are not inlined into each other;
- a RUN script's ``if``/``case`` on ``$TARGETARCH`` (``$TARGETPLATFORM``,
  ``$TARGETOS``, ``$TARGETVARIANT``, or a shell variable copied from them) is
  replaced by the branch that platform runs. The values are the ones BuildKit
  gives the RUN: the platform's when ``ARG TARGETARCH`` is in scope, the
  default of ``ARG TARGETARCH=...``, and empty when the stage never declares
  it. Tests that ask the running machine (``uname -m``, ``dpkg``) are kept, as
  is anything whose condition or subject has side effects, contains a heredoc
  or is not decidable. A statement that runs nothing is deleted (``a &&
  <pruned> && b`` becomes ``a && b``) or, where deleting it would change the
  shell's meaning, becomes ``true``; a RUN whose whole script is pruned is
  left out;
- everything else is copied verbatim, comments and spacing included.

:func:`normalized` and :func:`equivalent` compare builds: the instruction
sequence with names upper-cased, arguments whitespace-collapsed, comments
dropped, stage names replaced by their position, and a stage that only
continues another (``FROM name-amd64 AS name``, nothing else built FROM the
first) folded into it, so a build split into per-architecture stages compares
equal to the single stage it renders to.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from dockerarch.expand import expand, references
from dockerarch.lazyre import lazy_compile
from dockerarch.model import Model, PlatformView, Stage, build_model
from dockerarch.platforms import DEFAULT_PLATFORMS, Platform
from dockerarch.records import field, record
from dockerarch.shell.arch import EMPTY, Pred, Sym
from dockerarch.shell.evaluate import Evaluator, statements
from dockerarch.shell.model import ARCHES, ProbeKind
from dockerarch.shell.parse import bash_parser
from dockerarch.shell.words import Source, encode
from dockerarch.syntax import Comment, Directive, Dockerfile, Instruction, SourceMap, Span, parse

TYPE_CHECKING = False
if TYPE_CHECKING:
    import tree_sitter as ts

__all__ = ["RenderError", "equivalent", "normalized", "render", "stage_regions"]


class RenderError(ValueError):
    """The Dockerfile cannot be built (parse error, no FROM, unknown target)."""


# -- Dockerfile level -----------------------------------------------------------


def render(text: str, platform: Platform, target: str | None = None) -> str:
    """The Dockerfile as ``platform`` builds it (see the module docstring)."""
    tree = parse(text)
    check_buildable(tree)
    if target is not None:
        tree = _truncate(tree, target)
    model = build_model(tree)
    view = model.for_platform(platform)
    other = model.for_platform(Platform("-", "-", "-"))
    edits: list[tuple[Span, str]] = []
    regions = stage_regions(tree, model)
    for stage, region in zip(model.stages, regions, strict=True):
        if stage.index not in view.reachable:
            edits.append((region, ""))
            continue
        edits.extend(_from_edits(view, other, stage))
        for ins in stage.body:
            edits.extend(_copy_from_edits(view, ins))
            edits.extend(_renumber_edits(view, ins))
            if ins.name == "RUN":
                edits.extend(_run_edits(view, ins, platform))
    out = apply_edits(tree.text, edits)
    return ("\ufeff" if tree.bom else "") + _keep_directives(tree, out)


def _keep_directives(tree: Dockerfile, out: str) -> str:
    """``out`` with the parser directives of ``tree`` and no others.

    Dropping the stages above a comment can bring ``# syntax=...`` to the top,
    where BuildKit would read it as a directive; a blank line after the real
    directives ends the directive block, as it does for BuildKit.
    """
    directives = [item for item in tree.items if isinstance(item, Directive)]
    kept = [(d.name, d.value) for d in directives]
    if [(d.name, d.value) for d in parse(out).items if isinstance(d, Directive)] == kept:
        return out
    end = directives[-1].span.end if directives else 0
    return out[:end] + "\n" + out[end:]


def check_buildable(tree: Dockerfile) -> None:
    """Raise :class:`RenderError` for what BuildKit would refuse to parse or build."""
    if tree.errors:
        message, span = tree.errors[0]
        line = tree.lines.position(span.start).line
        raise RenderError(f"line {line}: {message}")
    for ins in tree.instructions:
        if ins.errors:
            raise RenderError(f"line {ins.start_line}: {ins.errors[0][0]}")
    if not any(ins.name == "FROM" for ins in tree.instructions):
        raise RenderError("no FROM instruction")


def stage_regions(tree: Dockerfile, model: Model) -> list[Span]:
    """Each stage's text: its FROM (with the comment lines right above it, except
    for the first stage, whose comments may be the file's header) to the next."""
    starts: list[int] = []
    items = tree.items
    for k, item in enumerate(items):
        if isinstance(item, Instruction) and item.name == "FROM":
            j = k
            while starts and j > 0 and isinstance(items[j - 1], Comment):
                j -= 1
            starts.append(items[j].span.start)
    assert len(starts) == len(model.stages)
    ends = [*starts[1:], len(tree.text)]
    return [Span(s, e) for s, e in zip(starts, ends, strict=True)]


def apply_edits(text: str, edits: list[tuple[Span, str]]) -> str:
    """``text`` with non-overlapping span replacements applied."""
    out: list[str] = []
    pos = 0
    for span, new in sorted(edits, key=lambda e: (e[0].start, e[0].end)):
        assert span.start >= pos, "overlapping edits"
        out.append(text[pos : span.start])
        out.append(new)
        pos = span.end
    out.append(text[pos:])
    return "".join(out)


def _truncate(tree: Dockerfile, target: str) -> Dockerfile:
    """The file up to the end of stage ``target``: later stages cannot be built
    for it, and the target becomes the final stage."""
    model = build_model(tree)
    stage = model.stage_named(target)
    if stage is None:
        raise RenderError(f"no stage named {target!r}")
    end = stage_regions(tree, model)[stage.index].end
    return parse(tree.text[:end])


def _platform_dependent(view: PlatformView, other: PlatformView, stage: Stage) -> bool:
    return view.base(stage) != other.base(stage)


def _from_edits(view: PlatformView, other: PlatformView, stage: Stage) -> list[tuple[Span, str]]:
    word = stage.image
    if word is None or "$" not in word.text:
        return []
    base = view.base(stage)
    if base is None:
        return []
    if view.parent(stage) is None and not _platform_dependent(view, other, stage):
        return []
    return [(word.span, base)]


def _copy_from_edits(view: PlatformView, ins: Instruction) -> list[tuple[Span, str]]:
    if ins.name not in ("COPY", "ADD"):
        return []
    flag = ins.flag("from")
    if flag is None or flag.value is None or flag.value_span is None or "$" not in flag.value:
        return []
    value = expand(flag.value, view.env_before(ins), view.escape)
    if value is None or view.model.stage_named(value) is None:
        return []
    return [(flag.value_span, value)]


_DIGITS = lazy_compile(r"\d+\Z")
_MOUNT_FROM = lazy_compile(r"(?:^|,)\s*from=(\d+)\s*(?=,|$)")


def _renumber_edits(view: PlatformView, ins: Instruction) -> list[tuple[Span, str]]:
    """Numeric stage references (``COPY --from=2``, ``RUN --mount=from=2``) moved
    down past the stages left out, which no longer count."""

    def new(old: int) -> int:
        return old - sum(1 for i in range(old) if i not in view.reachable)

    text = view.model.tree.text
    out: list[tuple[Span, str]] = []
    for flag in ins.flags:
        span = flag.value_span
        if flag.value is None or span is None or text[span.start : span.end] != flag.value:
            continue
        if flag.name == "from" and ins.name in ("COPY", "ADD") and _DIGITS.match(flag.value):
            if new(int(flag.value)) != int(flag.value):
                out.append((span, str(new(int(flag.value)))))
        elif flag.name == "mount" and ins.name == "RUN":
            for m in _MOUNT_FROM.finditer(flag.value):
                old = int(m.group(1))
                if new(old) != old:
                    at = span.start + m.start(1)
                    out.append((Span(at, at + len(m.group(1))), str(new(old))))
    return out


# -- RUN scripts ------------------------------------------------------------------

_SHELL_HEREDOC = lazy_compile(
    r"(?:(?:/usr)?(?:/bin/)?(?:ba|da|a|z)?sh(?:[ \t]+-[A-Za-z-]+)*[ \t]+)?\d*<<-?\S+\Z"
)
#: The automatic ARGs a RUN sees as environment variables once declared.
_TARGET_ARGS = ("TARGETARCH", "TARGETPLATFORM", "TARGETOS", "TARGETVARIANT")
_TARGET_KIND = frozenset({ProbeKind.TARGET_ARG})


def _run_edits(view: PlatformView, ins: Instruction, platform: Platform) -> list[tuple[Span, str]]:
    """Edits pruning the RUN's arch branches; deleting the RUN if nothing is left."""
    if ins.json is not None:
        return []
    if not ins.heredocs:
        text, smap = ins.args, ins.args_map
    elif len(ins.heredocs) == 1 and _SHELL_HEREDOC.match(ins.args):
        doc = ins.heredocs[0]
        text, smap = doc.body, SourceMap.identity(doc.body_span.start, len(doc.body))
    else:
        return []
    if "TARGET" not in text:
        return []  # only the target ARGs decide a branch here
    env = view.env_before(ins)
    seed: dict[str, Sym | None] = {}
    for name in _TARGET_ARGS:
        # Undeclared, BuildKit leaves the variable unset: the script sees "".
        value = env.get(name, "")
        seed[name] = (
            None if value is None else Sym(dict.fromkeys(ARCHES, frozenset({value})), _TARGET_KIND)
        )
    pruned = prune_script(text, platform.arch, seed)
    if pruned is None:
        return []
    if not pruned:
        return [(ins.span, "")]
    return [(smap.span_to_source(e.start, e.end), e.text) for e in pruned]


@record(slots=True)
class ScriptEdit:
    """Replace ``[start, end)`` of the script text with ``text``."""

    start: int
    end: int
    text: str


def prune_script(text: str, arch: str, seed: dict[str, Sym | None]) -> list[ScriptEdit] | None:
    """Edits reducing ``text`` to what runs on ``arch``.

    ``seed`` holds the values of the target ARGs (None: unknown). Returns None
    when nothing changes, ``[]`` when nothing at all is left to run.
    """
    root = bash_parser().parse(encode(text)).root_node
    if root.has_error:
        return None
    pruner = _Pruner(text, arch, seed)
    pruner.poison_functions(root)
    if pruner.block(root, top=True):
        return []
    if not pruner.edits:
        return None
    result = _apply(text, pruner.edits)
    if bash_parser().parse(encode(result)).root_node.has_error:
        return None  # never hand out a script the shell would reject
    return pruner.edits


def _apply(text: str, edits: list[ScriptEdit]) -> str:
    return apply_edits(text, [(Span(e.start, e.end), e.text) for e in edits])


# Statement kinds that keep their meaning when they replace an if/case that was
# an operand of ``&&``, ``|``, ``!`` or a redirection.
_SELF_CONTAINED = frozenset(
    {
        "command",
        "variable_assignment",
        "compound_statement",
        "subshell",
        "if_statement",
        "case_statement",
        "while_statement",
        "for_statement",
        "c_style_for_statement",
        "test_command",
    }
)
_TEST_COMMANDS = frozenset({"[", "test", "true", "false", ":"})
_OPAQUE_COMMANDS = frozenset({"eval", "source", "."})
_READ_COMMANDS = frozenset({"read", "mapfile", "readarray", "getopts"})
_LOOPS = frozenset({"while_statement", "for_statement", "c_style_for_statement"})


@record(frozen=False)
class _Pruner:
    text: str
    arch: str
    seed: dict[str, Sym | None]
    edits: list[ScriptEdit] = field(default_factory=list)
    poisoned: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.src = Source(self.text, SourceMap.identity(0, len(self.text)))
        self.ev = Evaluator(self.src)
        self.ev.env.update(self.seed)

    # -- edits -----------------------------------------------------------------

    def start(self, node: ts.Node) -> int:
        return self.src.start(node)

    def end(self, node: ts.Node) -> int:
        return self.src.end(node)

    def replace(self, start: int, end: int, text: str) -> None:
        self.edits.append(ScriptEdit(start, end, text))

    # -- variables ---------------------------------------------------------------

    def poison_functions(self, root: ts.Node) -> None:
        """Names a function assigns may change at any call: never trust them."""
        for node in _descendants(root):
            if node.type == "function_definition":
                self.poisoned |= self.assigned(node)
        for name in self.poisoned:
            self.ev.env[name] = None

    def assigned(self, node: ts.Node) -> set[str]:
        names: set[str] = set()
        for n in _descendants(node):
            if n.type in ("variable_assignment", "for_statement"):
                field_name = "name" if n.type == "variable_assignment" else "variable"
                name = n.child_by_field_name(field_name)
                if name is not None:
                    names.add(self.src.node_text(name))
            elif n.type == "command":
                words, _ = self.ev.command_words(n)
                if words and words[0] in _READ_COMMANDS:
                    names.update(w for w in words[1:] if w and w.isidentifier())
        return names

    def forget(self, names: set[str]) -> None:
        for name in names:
            self.ev.env[name] = None

    def store(self, node: ts.Node) -> None:
        name_node = node.child_by_field_name("name")
        if name_node is None:
            return
        name = self.src.node_text(name_node)
        if name in self.poisoned:
            return
        value = node.child_by_field_name("value")
        sym: Sym | None = EMPTY if value is None else self.ev.node_sym(value)
        if (value is not None and value.type == "array") or any(
            c.type == "+=" for c in node.children
        ):
            sym = None
        self.ev.env[name] = sym

    def isolated(self, node: ts.Node, visit: bool = True) -> bool:
        """Visit ``node`` as code that may not run, or runs in a subshell:
        what it assigns is unknown afterwards."""
        saved = dict(self.ev.env)
        vanished = self.visit(node) if visit else False
        self.ev.env = saved
        self.forget(self.assigned(node) - self.poisoned)
        return vanished

    # -- decisions -----------------------------------------------------------------

    def runs(self, pred: Pred) -> bool | None:
        if not pred.kinds <= _TARGET_KIND:
            return None
        if self.arch not in pred.true:
            return False
        return True if pred.decided and self.arch not in pred.false else None

    def pure(self, node: ts.Node) -> bool:
        """A condition that only tests (so dropping it changes nothing)."""
        text = self.src.node_text(node)
        if any(mark in text for mark in ("$(", "`", "<(", ">(", "<<", ":=")):
            return False
        t = node.type
        if t == "test_command":
            return True
        if t in ("list", "negated_command"):
            return all(self.pure(k) for k in statements(node.children))
        if t == "command":
            words, _ = self.ev.command_words(node)
            return bool(words) and words[0] in _TEST_COMMANDS
        return False

    def chosen_if(self, node: ts.Node) -> list[list[ts.Node]] | None:
        """The bodies the ``if`` runs on this arch (at most one), None if undecidable."""
        info = self.ev.if_info(node)
        kinds: frozenset[ProbeKind] = frozenset()
        for clause in info.clauses:
            kinds |= clause.taken.kinds
        if not kinds or not kinds <= _TARGET_KIND:
            return None
        for clause in info.clauses:
            if not all(self.pure(c) for c in clause.conditions):
                return None
            taken = self.runs(clause.taken)
            if taken is None:
                return None
            if taken:
                return [clause.body]
        return [] if self.runs(info.fallthrough) else None

    def chosen_case(self, node: ts.Node) -> list[list[ts.Node]] | None:
        subject = node.child_by_field_name("value")
        if subject is None or not self.pure_word(subject):
            return None
        info = self.ev.case_info(node)
        kinds: frozenset[ProbeKind] = frozenset()
        for _, pred in info.items:
            kinds |= pred.kinds
        if not kinds or not kinds <= _TARGET_KIND:
            return None
        chosen: list[list[ts.Node]] = []
        for body, pred in info.items:
            taken = self.runs(pred)
            if taken is None:
                return None
            if taken:
                chosen.append(body)
        return chosen if len(chosen) <= 1 else None  # fall-through: leave it

    def pure_word(self, node: ts.Node) -> bool:
        text = self.src.node_text(node)
        return not any(mark in text for mark in ("$(", "`", "<(", ">(", ":="))

    # -- walking -------------------------------------------------------------------

    def block(self, parent: ts.Node, top: bool = False) -> bool:
        """Prune a statement list; True if every statement vanished (and, at
        the top level, nothing was edited: the caller drops the script)."""
        children = [k for k in parent.named_children if k.type != "heredoc_body"]
        stmts = statements(children)
        if not stmts:
            return False
        gone = [self.visit(s) for s in stmts]
        if all(gone):
            if top:
                return True
            self.replace(self.start(stmts[0]), self.end(stmts[0]), "true")
            gone[0] = False
        i = 0
        while i < len(stmts):
            if not gone[i]:
                i += 1
                continue
            k = i
            while k + 1 < len(stmts) and gone[k + 1]:
                k += 1
            after = children.index(stmts[k]) + 1
            if after < len(children):
                self.replace(self.start(stmts[i]), self.start(children[after]), "")
            else:
                before = children[children.index(stmts[i]) - 1]
                self.replace(self.end(before), self.end(stmts[k]), "")
            i = k + 1
        return False

    def visit(self, node: ts.Node) -> bool:
        """Prune inside ``node``; True if it runs nothing on this arch (no edit
        was made inside it: the caller removes or replaces it)."""
        t = node.type
        if t in ("if_statement", "case_statement"):
            return self.branch(node)
        if t == "variable_assignment":
            self.store(node)
        elif t == "declaration_command":
            for k in node.named_children:
                if k.type == "variable_assignment":
                    self.store(k)
        elif t == "unset_command":
            for k in node.named_children:
                name = self.src.node_text(k)
                if name not in self.poisoned:
                    self.ev.env[name] = EMPTY
        elif t == "command":
            self.command(node)
        elif t == "list":
            return self.and_or(node)
        elif t in ("negated_command", "redirected_statement"):
            body = statements(node.children)[:1]
            if body and self.visit(body[0]):
                self.replace(self.start(body[0]), self.end(body[0]), "true")
        elif t == "pipeline":
            for k in statements(node.children):
                if self.isolated(k):
                    self.replace(self.start(k), self.end(k), "true")
        elif t == "subshell":
            saved = dict(self.ev.env)
            self.block(node)
            self.ev.env = saved
        elif t == "compound_statement":
            self.block(node)
        elif t in _LOOPS:
            self.forget(self.assigned(node) - self.poisoned)
            loop_body = node.child_by_field_name("body")
            if loop_body is not None:
                saved = dict(self.ev.env)
                self.block(loop_body)
                self.ev.env = saved
            self.forget(self.assigned(node) - self.poisoned)
        elif t != "function_definition":
            self.forget(self.assigned(node) - self.poisoned)
        return False

    def command(self, node: ts.Node) -> None:
        words, _ = self.ev.command_words(node)
        if not words:
            return
        if words[0] in _OPAQUE_COMMANDS:
            # It may assign anything, the target ARGs included.
            for name in [*self.ev.env, *_TARGET_ARGS]:
                self.ev.env[name] = None
        elif words[0] in _READ_COMMANDS:
            self.forget(self.assigned(node) - self.poisoned)

    def and_or(self, node: ts.Node) -> bool:
        kids = statements(node.children)
        ops = [c.type for c in node.children if not c.is_named]
        if len(kids) != 2 or not ops:
            self.forget(self.assigned(node) - self.poisoned)
            return False
        lhs, rhs = kids
        left = self.visit(lhs)
        right = self.isolated(rhs)
        if left and right:
            return True  # `true && true`, `true || true`: both exit 0
        if ops[0] == "&&" and right:
            self.replace(self.end(lhs), self.end(rhs), "")
        elif ops[0] == "&&" and left:
            self.replace(self.start(lhs), self.start(rhs), "")
        else:
            for side, gone in ((lhs, left), (rhs, right)):
                if gone:
                    self.replace(self.start(side), self.end(side), "true")
        return False

    def branch(self, node: ts.Node) -> bool:
        text = self.src.node_text(node)
        chosen = (
            None
            if "<<" in text
            else (self.chosen_if(node) if node.type == "if_statement" else self.chosen_case(node))
        )
        if chosen is None:
            self.undecided(node)
            return False
        if not chosen or not chosen[0]:
            return True
        body = chosen[0]
        parent = node.parent
        in_list = parent is not None and parent.type in (
            "program",
            "compound_statement",
            "subshell",
            "do_group",
            "if_statement",
            "elif_clause",
            "else_clause",
            "case_item",
        )
        wrap = not in_list and (len(body) > 1 or body[0].type not in _SELF_CONTAINED)
        first, last = body[0], body[-1]
        if wrap:
            self.replace(self.start(node), self.start(first), "{ ")
            self.block_of(body)
            self.replace(self.end(last), self.end(node), "; }")
            return False
        head = (self.start(node), self.start(first))
        tail = (self.end(last), self.end(node))
        # `if ...; then` and `fi` on lines of their own go as whole lines, so
        # the body keeps its indentation.
        text = self.text
        if (
            "\n" in text[head[0] : head[1]]
            and self.blank_before(head[0])
            and self.blank_before(head[1])
        ):
            head = (text.rfind("\n", 0, head[0]) + 1, text.rfind("\n", 0, head[1]) + 1)
        if (
            "\n" in text[tail[0] : tail[1]]
            and self.blank_after(tail[0])
            and self.blank_after(tail[1])
        ):
            tail = (self.line_end(tail[0]), self.line_end(tail[1]))
        self.replace(*head, "")
        self.block_of(body)
        self.replace(*tail, "")
        return False

    def blank_before(self, at: int) -> bool:
        return not self.text[self.text.rfind("\n", 0, at) + 1 : at].strip()

    def blank_after(self, at: int) -> bool:
        return not self.text[at : self.line_end(at)].strip()

    def line_end(self, at: int) -> int:
        """The offset after the newline ending ``at``'s line (or the text's end)."""
        nl = self.text.find("\n", at)
        return len(self.text) if nl == -1 else nl + 1

    def block_of(self, body: list[ts.Node]) -> None:
        """Prune the statements of a chosen branch, which stay in place."""
        gone = [self.visit(s) for s in body]
        for s, g in zip(body, gone, strict=True):
            if g:
                self.replace(self.start(s), self.end(s), "true")

    def undecided(self, node: ts.Node) -> None:
        """Prune inside each branch of an ``if``/``case`` we cannot decide."""
        if node.type == "if_statement":
            bodies = [c.body for c in self.ev.if_info(node).clauses]
        else:
            bodies = [b for b, _ in self.ev.case_info(node).items]
        saved = dict(self.ev.env)
        for body in bodies:
            self.ev.env = dict(saved)
            self.block_of(body)
        self.ev.env = saved
        self.forget(self.assigned(node) - self.poisoned)


def _descendants(node: ts.Node) -> Iterator[ts.Node]:
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        stack.extend(n.named_children)


# -- comparing builds -------------------------------------------------------------

_WS = lazy_compile(r"\s+")


def _collapse(text: str) -> str:
    return _WS.sub(" ", text).strip()


def normalized(text: str) -> list[str]:
    """The build's instruction sequence in a canonical form (see the module
    docstring). Meant for platform-specific (rendered) text: stage references
    through variables are resolved as for linux/amd64."""
    tree = parse(text)
    model = build_model(tree)
    view = model.for_platform(DEFAULT_PLATFORMS[0])
    stages = model.stages
    uses = [0] * len(stages)
    refs: dict[int, list[int]] = {}
    for st in stages:
        parent = view.parent(st)
        if parent is not None:
            uses[parent.index] += 1
        for ins in st.body:
            for ref in _stage_refs(view, ins):
                uses[ref] += 1
                refs.setdefault(st.index, []).append(ref)
    chain: list[int] = []  # stage index -> index of the chain's head stage
    for st in stages:
        parent = view.parent(st)
        folds = (
            parent is not None
            and not st.from_.flags
            and uses[parent.index] == 1
            and parent.index not in refs.get(st.index, [])
        )
        chain.append(chain[parent.index] if folds and parent is not None else st.index)
    heads = sorted(set(chain))
    number = {head: k for k, head in enumerate(heads)}

    def ref_name(index: int) -> str:
        return f"#{number[chain[index]]}"

    out = [f"{ins.name} {_collapse(ins.args)}" for ins in _used_prologue(tree, model)]
    for head in heads:
        st = stages[head]
        flags = " ".join(f.text for f in st.from_.flags)
        parent = view.parent(st)
        image = ref_name(parent.index) if parent else (st.image.text if st.image else "")
        out.append(_collapse(f"FROM {flags} {image} AS {ref_name(head)}"))
        for member in stages:
            if chain[member.index] == head:
                out.extend(_normalized_instruction(view, ins, ref_name) for ins in member.body)
    return out


def equivalent(a_text: str, b_text: str) -> bool:
    """Whether two Dockerfiles build the same instructions (see :func:`normalized`)."""
    return normalized(a_text) == normalized(b_text)


def _used_prologue(tree: Dockerfile, model: Model) -> list[Instruction]:
    """Instructions before the first FROM, without global ARGs nothing reads."""
    used: set[str] = set()
    for st in model.stages:
        for word in [st.from_.args, *(f.text for f in st.from_.flags)]:
            used.update(references(word, tree.escape))
        used.update(d.name for d in st.args() if d.default is None)
    first = model.stages[0].from_.span.start if model.stages else len(tree.text)
    out: list[Instruction] = []
    for ins in tree.instructions:
        if ins.span.start >= first:
            break
        if ins.name == "ARG" and not any(kv.key in used for kv in ins.key_values(tree.escape)):
            continue
        out.append(ins)
    return out


def _stage_refs(view: PlatformView, ins: Instruction) -> list[int]:
    """Stages an instruction reads through ``--from`` (COPY, ADD, RUN --mount)."""
    values: list[str] = []
    if ins.name in ("COPY", "ADD"):
        flag = ins.flag("from")
        if flag is not None and flag.value:
            values.append(flag.value)
    elif ins.name == "RUN":
        for flag in ins.flags:
            if flag.name == "mount" and flag.value:
                for part in flag.value.split(","):
                    key, _, value = part.partition("=")
                    if key.strip() == "from" and value:
                        values.append(value)
    stage = view.model.stage_of(ins)
    out: list[int] = []
    for value in values:
        env = view.env_before(ins) if "$" in value else {}
        resolved = expand(value, env, view.escape)
        dep = None if resolved is None else view.model.stage_named(resolved)
        if dep is not None and stage is not None and dep.index < stage.index:
            out.append(dep.index)
    return out


def _normalized_instruction(
    view: PlatformView, ins: Instruction, ref_name: Callable[[int], str]
) -> str:
    flags: list[str] = []
    for flag in ins.flags:
        text = flag.text
        if flag.name == "from" and ins.name in ("COPY", "ADD") and flag.value:
            env = view.env_before(ins) if "$" in flag.value else {}
            resolved = expand(flag.value, env, view.escape)
            dep = None if resolved is None else view.model.stage_named(resolved)
            if dep is not None:
                text = f"--from={ref_name(dep.index)}"
        flags.append(text)
    parts = [ins.name, *flags, ins.args, *(h.body for h in ins.heredocs)]
    return _collapse(" ".join(parts))
