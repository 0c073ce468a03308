"""Requirements in ``setup.py``, read with libcst and never executed."""

from __future__ import annotations

import ast
import warnings
from collections.abc import Iterator

import libcst as cst
from libcst.metadata import CodeRange, MetadataWrapper, PositionProvider

from dockerarch.records import record
from dockerarch.syntax.positions import LineIndex, Span

# Keywords of setup() whose values are lists of requirements, and the one that
# is a dict of extra name -> list.
_LIST_KEYWORDS = ("install_requires", "setup_requires")
_DICT_KEYWORD = "extras_require"
_SETUP_MODULES = frozenset({"setuptools", "distutils.core"})


@record(slots=True)
class Literal:
    """A requirement string literal: its value, the span of its content, its keyword.

    ``exact`` says the span's text equals ``value`` (no escapes, one token).
    """

    value: str
    span: Span
    keyword: str
    exact: bool


@record(slots=True)
class Skipped:
    """A value that is not a literal, so its requirements cannot be known statically."""

    offset: int
    keyword: str
    what: str


def _dotted(node: cst.BaseExpression) -> str | None:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        base = _dotted(node.value)
        return f"{base}.{node.attr.value}" if base else None
    return None


class _Collector(cst.CSTVisitor):
    METADATA_DEPENDENCIES = (PositionProvider,)

    def __init__(self) -> None:
        super().__init__()
        self.setup_names: set[str] = {f"{m}.setup" for m in _SETUP_MODULES}
        self.assignments: dict[str, cst.BaseExpression] = {}
        self.calls: list[cst.Call] = []
        self.depth = 0

    def visit_Import(self, node: cst.Import) -> None:
        for alias in node.names:
            module = _dotted(alias.name)
            if module in _SETUP_MODULES and alias.asname is not None:
                asname = alias.asname.name
                if isinstance(asname, cst.Name):
                    self.setup_names.add(f"{asname.value}.setup")

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        if node.module is None or _dotted(node.module) not in _SETUP_MODULES:
            return
        if isinstance(node.names, cst.ImportStar):
            self.setup_names.add("setup")
            return
        for alias in node.names:
            if isinstance(alias.name, cst.Name) and alias.name.value == "setup":
                asname = alias.asname.name if alias.asname else alias.name
                if isinstance(asname, cst.Name):
                    self.setup_names.add(asname.value)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.depth += 1

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self.depth -= 1

    def visit_Assign(self, node: cst.Assign) -> None:
        # Only module-level names: a setup.py's REQUIRES = [...] constant.
        if self.depth == 0 and len(node.targets) == 1:
            target = node.targets[0].target
            if isinstance(target, cst.Name):
                self.assignments[target.value] = node.value

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if self.depth == 0 and isinstance(node.target, cst.Name) and node.value is not None:
            self.assignments[node.target.value] = node.value

    def visit_Call(self, node: cst.Call) -> None:
        name = _dotted(node.func)
        if name is not None and name in self.setup_names:
            self.calls.append(node)


def _evaluated(node: cst.SimpleString | cst.ConcatenatedString) -> str | bytes | None:
    try:
        return node.evaluated_value
    except (SyntaxError, ValueError):
        # An invalid escape such as "\N{NOPE}": not a value Python would accept.
        return None


class _Extractor:
    def __init__(self, wrapper: MetadataWrapper, collector: _Collector, lines: LineIndex) -> None:
        self.positions = wrapper.resolve(PositionProvider)
        self.assignments = collector.assignments
        self.lines = lines

    def span(self, node: cst.CSTNode) -> Span:
        where: CodeRange = self.positions[node]
        start = self.lines.offset(where.start.line, where.start.column + 1)
        return Span(start, self.lines.offset(where.end.line, where.end.column + 1))

    def skipped(self, node: cst.CSTNode, keyword: str, what: str) -> Skipped:
        return Skipped(self.span(node).start, keyword, what)

    def values(
        self, node: cst.BaseExpression, keyword: str, seen: frozenset[str] = frozenset()
    ) -> Iterator[Literal | Skipped]:
        if isinstance(node, cst.List | cst.Tuple | cst.Set):
            for element in node.elements:
                if isinstance(element, cst.StarredElement):
                    yield from self.values(element.value, keyword, seen)
                else:
                    yield from self.string(element.value, keyword)
        elif isinstance(node, cst.Name) and node.value in self.assignments:
            if node.value not in seen:
                yield from self.values(self.assignments[node.value], keyword, seen | {node.value})
        elif isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Add):
            yield from self.values(node.left, keyword, seen)
            yield from self.values(node.right, keyword, seen)
        elif isinstance(node, cst.SimpleString | cst.ConcatenatedString):
            # setuptools accepts one newline-separated string as well.
            yield from self.string(node, keyword)
        else:
            yield self.skipped(node, keyword, type(node).__name__)

    def string(self, node: cst.BaseExpression, keyword: str) -> Iterator[Literal | Skipped]:
        if isinstance(node, cst.SimpleString):
            value = _evaluated(node)
            if isinstance(value, str):
                whole = self.span(node)
                skip = len(node.prefix) + len(node.quote)
                inner = Span(whole.start + skip, whole.end - len(node.quote))
                body = node.value[skip : len(node.value) - len(node.quote)]
                yield Literal(value, inner, keyword, body == value)
                return
        elif isinstance(node, cst.ConcatenatedString):
            joined = _evaluated(node)
            if isinstance(joined, str):
                yield Literal(joined, self.span(node), keyword, False)
                return
        text_like = isinstance(node, cst.SimpleString | cst.ConcatenatedString)
        yield self.skipped(node, keyword, "bytes" if text_like else type(node).__name__)

    def extras(
        self, node: cst.BaseExpression, seen: frozenset[str] = frozenset()
    ) -> Iterator[Literal | Skipped]:
        if isinstance(node, cst.Name) and node.value in self.assignments and node.value not in seen:
            yield from self.extras(self.assignments[node.value], seen | {node.value})
            return
        if not isinstance(node, cst.Dict):
            yield self.skipped(node, _DICT_KEYWORD, type(node).__name__)
            return
        for element in node.elements:
            if isinstance(element, cst.DictElement) and isinstance(element.key, cst.SimpleString):
                extra = _evaluated(element.key)
                if isinstance(extra, str):
                    yield from self.values(element.value, f"{_DICT_KEYWORD}[{extra}]")
                    continue
            yield self.skipped(element, _DICT_KEYWORD, "computed extra name")


def setup_py_literals(source: str, lines: LineIndex) -> Iterator[Literal | Skipped]:
    """Requirement literals of every ``setup()`` call in ``source`` (indexed by ``lines``).

    Raises SyntaxError (or ValueError, RecursionError) for code Python cannot
    parse, and libcst.ParserSyntaxError for code libcst cannot parse.
    """
    # libcst's native parser can overflow the C stack (a crash, not an
    # exception) on pathologically deep expressions; CPython's parser refuses
    # those with an exception, so it screens the source first. Its warnings
    # (invalid escape sequences in the user's file) are not ours to print.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ast.parse(source)
    wrapper = MetadataWrapper(cst.parse_module(source))
    collector = _Collector()
    wrapper.visit(collector)
    extractor = _Extractor(wrapper, collector, lines)
    for call in collector.calls:
        for arg in call.args:
            if arg.keyword is None:
                continue
            keyword = arg.keyword.value
            if keyword in _LIST_KEYWORDS:
                yield from extractor.values(arg.value, keyword)
            elif keyword == _DICT_KEYWORD:
                yield from extractor.extras(arg.value)
