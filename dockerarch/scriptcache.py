"""RUN scripts parsed once per instruction text and reused wherever that text appears.

An editor re-checks the whole file on every keystroke, and a repository repeats
the same RUN lines across its Dockerfiles; parsing the shell is a quarter of a
check. An instruction's scripts depend only on its own text (heredoc bodies
included) and the file's escape character, so a parse is kept under that key
and moved to wherever the instruction starts now.
"""

from __future__ import annotations

import _thread
from collections import OrderedDict

from dockerarch.memo import BoundedMemo
from dockerarch.runscripts import run_scripts
from dockerarch.shell.model import ArchProbe, Assignment, Command, Script, Word
from dockerarch.syntax import Instruction
from dockerarch.syntax.positions import Span

#: Scripts of this many instructions are kept (least recently used dropped first).
MAX_ENTRIES = 4096
#: Longer instructions are parsed every time: rare, and they would crowd out the rest.
MAX_TEXT = 65_536
#: Longer RUNs have no TextFlags kept.
FLAG_TEXT = 4096

_Key = tuple[str, str]
_cache: OrderedDict[_Key, tuple[int, tuple[Script, ...]]] = OrderedDict()
# _thread rather than threading: see dockerarch.shell.parse._PARSERS.
_lock = _thread.allocate_lock()


def text_key(ins: Instruction, source: str, escape: str) -> _Key:
    """What the scripts of ``ins`` depend on: its text (heredoc bodies included) and the
    escape character. Anything worked out from their words alone, not from where they
    stand, depends on no more either."""
    return (source[ins.span.start : ins.span.end], escape)


def scripts_of(ins: Instruction, source: str, escape: str) -> list[Script]:
    """``run_scripts(ins, source)``, from the cache when the same text was parsed before."""
    if ins.name != "RUN" or ins.json is not None:
        return []
    key = text_key(ins, source, escape)
    if len(key[0]) > MAX_TEXT:
        return run_scripts(ins, source)
    with _lock:
        hit = _cache.get(key)
        if hit is not None:
            _cache.move_to_end(key)
    if hit is not None:
        start, scripts = hit
        delta = ins.span.start - start
        return [shifted(s, delta) for s in scripts] if delta else list(scripts)
    found = run_scripts(ins, source)
    with _lock:
        _cache[key] = (ins.span.start, tuple(found))
        if len(_cache) > MAX_ENTRIES:
            _cache.popitem(last=False)
    return found


class TextFlags:
    """Yes-or-no facts about RUNs, kept by :func:`text_key`.

    For a fact worked out from the words of a RUN's scripts alone, not from where they
    stand (which only places a finding): rules ask such facts of every RUN, and files
    repeat RUN lines. At most MAX_ENTRIES RUNs of up to FLAG_TEXT characters each (the
    parser's instruction memo keeps no longer ones either): the keys hold their text, so a
    long-lived process (the language server) holds at most 16 MB of it per fact, and RUNs
    of a few hundred characters in practice.
    """

    def __init__(self) -> None:
        self._flags: BoundedMemo[_Key, bool] = BoundedMemo(MAX_ENTRIES)

    def get(self, key: _Key) -> bool | None:
        return self._flags.get(key)

    def put(self, key: _Key, flag: bool) -> None:
        if len(key[0]) <= FLAG_TEXT:
            self._flags.keep(key, flag)


def clear() -> None:
    with _lock:
        _cache.clear()


def shifted(script: Script, delta: int) -> Script:
    """``script`` with every span moved by ``delta`` characters."""
    # Empty tuples (most scripts have no probes, errors or assignments, most
    # commands no prefix assignments) are kept as they are.
    probes, errors = script.arch_probes, script.errors
    return Script(
        commands=tuple([_command(c, delta) for c in script.commands]),
        assignments=_assignments(script.assignments, delta),
        arch_probes=tuple([ArchProbe(p.kind, p.span.moved(delta), p.guard) for p in probes])
        if probes
        else probes,
        arch_mappings=script.arch_mappings,
        errors=tuple([s.moved(delta) for s in errors]) if errors else errors,
    )


# Constructors rather than dataclasses.replace: this runs for every word of
# every cached script, and replace() introspects the fields each time.
def _word(w: Word, delta: int) -> Word:
    span = w.span
    # Span(...) rather than span.moved(delta): a call less for each of ~40 spans a file.
    moved = Span(span.start + delta, span.end + delta)
    pieces = w.literal_pieces
    if len(pieces) == 1 and pieces[0][1] is span:
        # Most words are one literal piece, which shares its span with the word (as in a
        # fresh parse).
        return Word(w.text, w.value, moved, ((pieces[0][0], moved),), w.expansions, w.per_arch)
    moved_pieces = [
        (text, moved if s is span else Span(s.start + delta, s.end + delta)) for text, s in pieces
    ]
    return Word(w.text, w.value, moved, tuple(moved_pieces), w.expansions, w.per_arch)


def _assignments(assignments: tuple[Assignment, ...], delta: int) -> tuple[Assignment, ...]:
    if not assignments:
        return assignments
    return tuple(
        [
            Assignment(
                a.name,
                _word(a.value, delta),
                a.span.moved(delta),
                a.name_span.moved(delta),
                a.guard,
                a.probe_kinds,
            )
            for a in assignments
        ]
    )


def _command(c: Command, delta: int) -> Command:
    name = c.name
    return Command(
        None if name is None else _word(name, delta),
        tuple([_word(w, delta) for w in c.args]),
        _assignments(c.env, delta),
        c.span.moved(delta),
        c.guard,
        c.in_substitution,
    )
