"""Records: classes of named fields, held frozen by type checkers and the test suite.

dockerarch defines about a hundred small classes before it reads a line of a
Dockerfile, and creates many thousands of instances per file. ``dataclasses`` is
slow at both: defining a dataclass compiles each generated method from source
(~1.2 M instructions a class under callgrind, plus ~40 M to import the module and
``inspect``, which it pulls in), and a frozen one sets every field through
``object.__setattr__``. Together that was about a quarter of the instructions of a
one-file check. So in a user's run ``@record`` builds the class itself: an
``__init__`` from code compiled once per shape of fields (``_init``), and shared
``__repr__``, ``__eq__``, ``__hash__`` (and ordering) that read the fields through
per-class getters and behave as the generated ones do (same text, same comparison,
same hash). The ``__init__`` code of the shapes dockerarch's own records have comes
compiled with the package (dockerarch/_record_inits.py, written by
scripts/gen_record_inits.py): compiling them at each start was 3% of a one-file run.

The guarantees are kept where they are checked: ``dataclass_transform`` makes
mypy (``--strict``) treat records as dataclasses, frozen unless declared
``frozen=False``, so any assignment to a frozen record's field is an error; and
the test suite sets ``DOCKERARCH_FROZEN=1`` (tests/conftest.py), which makes every
record a real ``dataclasses.dataclass`` (frozen where declared so), in the suite's
process and in the processes it starts. tests/test_records.py holds the two kinds
to the same behaviour. Set-once caches on a frozen record use
``object.__setattr__``, which works either way.
"""

from __future__ import annotations

import operator
import os
import reprlib
import sys
from collections.abc import Callable
from operator import attrgetter
from types import CodeType, FunctionType

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, TypeVar, dataclass_transform, overload

    T = TypeVar("T")
else:
    # Importing typing is 5% of checking one small file; this decorator only tells type
    # checkers something.
    def dataclass_transform(**_):
        return lambda fn: fn


#: Build real dataclasses, frozen where declared (the test suite sets it).
FROZEN = os.environ.get("DOCKERARCH_FROZEN") == "1"


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


#: The options of ``dataclasses.field`` that records support.
_OPTIONS = ("default", "default_factory", "init", "repr", "compare", "hash")


class Field:
    """What :func:`field` says about one field (``dataclasses.Field``'s options)."""

    __slots__ = ("compare", "default", "default_factory", "hash", "init", "name", "repr")

    def __init__(
        self,
        default: Any = MISSING,
        default_factory: Any = MISSING,
        init: bool = True,
        repr: bool = True,
        compare: bool = True,
        hash: bool | None = None,
    ) -> None:
        if default is not MISSING and default_factory is not MISSING:
            raise ValueError("cannot specify both default and default_factory")
        self.name = ""
        self.default = default
        self.default_factory = default_factory
        self.init = init
        self.repr = repr
        self.compare = compare
        self.hash = hash

    @property
    def hashed(self) -> bool:
        return self.compare if self.hash is None else self.hash


def field(
    *,
    default: Any = MISSING,
    default_factory: Callable[[], Any] | Any = MISSING,
    init: bool = True,
    repr: bool = True,
    compare: bool = True,
    hash: bool | None = None,
) -> Any:
    """``dataclasses.field`` for records."""
    return Field(default, default_factory, init, repr, compare, hash)


if TYPE_CHECKING:

    @overload
    def record(cls: type[T], /) -> type[T]: ...

    @overload
    def record(
        *, slots: bool = False, order: bool = False, frozen: bool = True
    ) -> Callable[[type[T]], type[T]]: ...


@dataclass_transform(frozen_default=True, field_specifiers=(field, Field))
def record(
    cls: type[T] | None = None, /, *, slots: bool = False, order: bool = False, frozen: bool = True
) -> type[T] | Callable[[type[T]], type[T]]:
    """``@dataclass(frozen=frozen, slots=slots, order=order)``; see the module's docs."""

    def make(c: type[T]) -> type[T]:
        if FROZEN:
            return _dataclass(c, slots=slots, order=order, frozen=frozen)
        return _build(c, slots=slots, order=order, frozen=frozen)

    return make if cls is None else make(cls)


def replace(obj: T, /, **changes: Any) -> T:
    """A copy of ``obj`` with ``changes``, as ``dataclasses.replace`` makes it."""
    own: tuple[Field, ...] | None = type(obj).__dict__.get("_record_fields")
    if own is None:
        import dataclasses

        return dataclasses.replace(obj, **changes)  # type: ignore[type-var]
    for f in own:
        if not f.init:
            if f.name in changes:
                raise ValueError(f"field {f.name} is declared with init=False")
        elif f.name not in changes:
            changes[f.name] = getattr(obj, f.name)
    return type(obj)(**changes)


# -- the real dataclass (test suite) ------------------------------------------------


def _dataclass(cls: type[T], *, slots: bool, order: bool, frozen: bool) -> type[T]:
    import dataclasses

    for name in _own_annotations(cls):
        spec = cls.__dict__.get(name)
        if isinstance(spec, Field):
            options = {k: getattr(spec, k) for k in _OPTIONS}
            options = {k: v for k, v in options.items() if v is not MISSING}
            setattr(cls, name, dataclasses.field(**options))
    return dataclasses.dataclass(frozen=frozen, slots=slots, order=order)(cls)


# -- the user's record --------------------------------------------------------------


def _build(cls: type[T], *, slots: bool, order: bool, frozen: bool) -> type[T]:
    fields: dict[str, Field] = {}
    for base in reversed(cls.__mro__[1:]):
        for f in base.__dict__.get("_record_fields", ()):
            fields[f.name] = f
    for name, annotation in _own_annotations(cls).items():
        if _is_classvar(annotation):
            continue
        value = cls.__dict__.get(name, MISSING)
        f = value if isinstance(value, Field) else Field(default=value)
        f.name = name
        fields[name] = f
        if isinstance(value, Field):
            # As dataclasses leave it: the default as a class attribute, or nothing.
            if f.default is MISSING:
                delattr(cls, name)
            else:
                setattr(cls, name, f.default)
    every = tuple(fields.values())
    body = dict(cls.__dict__)
    if slots:
        cls = _with_slots(cls, every)
    setattr(cls, "__init__", _init(cls, every))  # noqa: B010 - mypy forbids assigning methods
    setattr(cls, "__match_args__", tuple(f.name for f in every if f.init))  # noqa: B010
    _share_methods(cls, every, body, order=order, frozen=frozen)
    return cls


def _own_annotations(cls: type[Any]) -> dict[str, Any]:
    # Since Python 3.10 a class without annotations of its own has an empty
    # __annotations__, not its base's; inspect.get_annotations would import inspect.
    annotations: dict[str, Any] = cls.__annotations__
    return annotations


def _is_classvar(annotation: Any) -> bool:
    if isinstance(annotation, str):
        return annotation.startswith(("ClassVar", "typing.ClassVar"))
    from typing import ClassVar, get_origin

    return annotation is ClassVar or get_origin(annotation) is ClassVar


def _with_slots(cls: type[T], every: tuple[Field, ...]) -> type[T]:
    """``cls`` made again with ``__slots__`` for the fields its bases have no slot for."""
    inherited = {s for base in cls.__mro__[1:-1] for s in base.__dict__.get("__slots__", ())}
    body = dict(cls.__dict__)
    names = tuple(f.name for f in every if f.name not in inherited)
    for name in (*names, "__dict__", "__weakref__"):
        body.pop(name, None)
    body["__slots__"] = names
    meta: Any = type(cls)
    made: type[T] = meta(cls.__name__, cls.__bases__, body)
    made.__qualname__ = cls.__qualname__
    return made


_FACTORY = object()
#: Compiled ``__init__`` code by shape (see :func:`_init`); None until first asked.
_TEMPLATES: dict[str, CodeType] | None = None
#: Every shape asked for in this process: what scripts/gen_record_inits.py writes.
SHAPES: set[str] = set()


def _init(cls: type[Any], every: tuple[Field, ...]) -> Callable[..., None]:
    """``__init__`` for ``every`` field: the lines dataclasses would write.

    Compiling them is most of what defining a class costs, and many records share a
    shape (say, three fields set from arguments): so each shape is compiled once, with
    placeholder names, and a class gets that code with its own field names put in.
    A shape is a letter per field: ``a`` set from a parameter, ``f`` from a parameter
    whose default is a factory's product, ``m`` (init=False) from its factory, ``d``
    (init=False) to its default, ``u`` (init=False, no default) left unset; then ``p``
    when the class has ``__post_init__``.
    """
    shape = ""
    scope: dict[str, Any] = {"_record_FACTORY": _FACTORY}
    defaults: list[Any] = []
    for i, f in enumerate(every):
        if f.default is not MISSING:
            scope[f"_record_d{i}"] = f.default
        if f.default_factory is not MISSING:
            scope[f"_record_f{i}"] = f.default_factory
        if f.init:
            shape += "f" if f.default_factory is not MISSING else "a"
            if f.default is not MISSING or f.default_factory is not MISSING:
                defaults.append(_FACTORY if f.default_factory is not MISSING else f.default)
            elif defaults:
                raise TypeError(f"non-default argument {f.name!r} follows default argument")
        elif f.default_factory is not MISSING:
            shape += "m"
        else:
            shape += "d" if f.default is not MISSING else "u"
    if hasattr(cls, "__post_init__"):
        shape += "p"
    template = _template(shape)
    names = {f"_record_p{i}": f.name for i, f in enumerate(every)}
    qualname = f"{cls.__qualname__}.__init__"
    code = template.replace(
        co_name="__init__",
        co_varnames=tuple(names.get(n, n) for n in template.co_varnames),
        co_names=tuple(names.get(n, n) for n in template.co_names),
    )
    if sys.version_info >= (3, 11):  # what tracebacks show
        code = code.replace(co_qualname=qualname)
    init: Callable[..., None] = FunctionType(code, scope, "__init__", tuple(defaults))
    init.__qualname__ = qualname
    return init


def _template(shape: str) -> CodeType:
    global _TEMPLATES
    if _TEMPLATES is None:
        from dockerarch._record_inits import TEMPLATES

        _TEMPLATES = dict(TEMPLATES)
    SHAPES.add(shape)
    code = _TEMPLATES.get(shape)
    if code is None:
        # A shape new since the module was written, or a rule pack's own.
        scope: dict[str, Any] = {}
        exec(init_source(shape, "__init__"), scope)  # our own generated source, as dataclasses does
        code = _TEMPLATES[shape] = scope["__init__"].__code__
    return code


def init_source(shape: str, name: str) -> str:
    """The source of an ``__init__`` of ``shape`` called ``name``; field ``i`` is
    ``_record_p{i}``, its default ``_record_d{i}``, its factory ``_record_f{i}``."""
    params = ["self"]
    lines = []
    for i, kind in enumerate(shape):
        field = f"_record_p{i}"
        if kind in "af":
            params.append(field)
        if kind == "a":
            lines.append(f"self.{field} = {field}")
        elif kind == "f":
            made = f"_record_f{i}()"
            lines.append(f"self.{field} = {made} if {field} is _record_FACTORY else {field}")
        elif kind == "m":
            lines.append(f"self.{field} = _record_f{i}()")
        elif kind == "d":
            lines.append(f"self.{field} = _record_d{i}")
        elif kind == "p":
            lines.append("self.__post_init__()")
    # One parameter a line, with a trailing comma: as ruff formats the written module.
    head = f"def {name}(\n" + "".join(f"    {p},\n" for p in params) + "):\n"
    return head + "".join(f"    {line}\n" for line in lines or ["pass"])


def _share_methods(
    cls: type[Any], every: tuple[Field, ...], body: dict[str, Any], *, order: bool, frozen: bool
) -> None:
    """Give ``cls`` the ``__repr__``, ``__eq__``, ``__hash__`` (and ordering) that
    dataclass would generate, as shared functions reading the fields through
    getters; like dataclass, keep those the class body defines itself."""
    cls._record_fields = every
    cls._record_shown = tuple(f.name for f in every if f.repr)
    # Static: a getter made of a lambda would otherwise bind to the instance.
    cls._record_compared = staticmethod(_getter([f.name for f in every if f.compare]))
    cls._record_hashed = staticmethod(_getter([f.name for f in every if f.hashed]))
    shared: dict[str, Callable[..., Any]] = {"__repr__": _repr, "__eq__": _eq}
    if order:
        shared.update(_ORDERING)
    for name, method in shared.items():
        if name not in body:
            setattr(cls, name, method)
    # A body that defines __eq__ gets __hash__ = None from Python, which is not its own.
    own_hash = "__hash__" in body and not (body["__hash__"] is None and "__eq__" in body)
    if not own_hash:
        # As dataclass(eq=True): hashed by the fields if frozen, unhashable if not.
        setattr(cls, "__hash__", _hash if frozen else None)  # noqa: B010


def _getter(names: list[str]) -> Callable[[Any], tuple[Any, ...]]:
    """The values of ``names`` as a tuple, as the generated methods compare them."""
    if not names:
        return lambda _: ()
    if len(names) == 1:
        one = attrgetter(names[0])
        return lambda obj: (one(obj),)
    return attrgetter(*names)


@reprlib.recursive_repr()
def _repr(self: Any) -> str:
    shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._record_shown)
    return f"{type(self).__qualname__}({shown})"


def _eq(self: Any, other: Any) -> Any:
    if other.__class__ is self.__class__:
        compared = self._record_compared
        return compared(self) == compared(other)
    return NotImplemented


def _hash(self: Any) -> int:
    return hash(self._record_hashed(self))


def _ordered_by(op: Callable[[Any, Any], bool]) -> Callable[[Any, Any], Any]:
    """``__lt__`` and friends as ``order=True`` generates them: ``op`` over the compared fields."""

    def compare(self: Any, other: Any) -> Any:
        if other.__class__ is self.__class__:
            compared = self._record_compared
            return op(compared(self), compared(other))
        return NotImplemented

    return compare


_ORDERING = {
    "__lt__": _ordered_by(operator.lt),
    "__le__": _ordered_by(operator.le),
    "__gt__": _ordered_by(operator.gt),
    "__ge__": _ordered_by(operator.ge),
}
