"""Which shell scripts a RUN instruction executes.

BuildKit runs a shell-form RUN through ``/bin/sh -c``; heredocs change that:
``RUN <<EOF`` runs the body itself as the script, ``RUN bash <<EOF`` feeds it
to a shell (still a script), while ``RUN python3 <<EOF`` or
``RUN cat <<EOF > file`` do not run the body as shell. Exec form and ONBUILD
triggers (they run in someone else's build) give no script.
"""

from __future__ import annotations

from collections.abc import Iterable

from dockerarch.lazyre import lazy_compile
from dockerarch.memo import BoundedMemo
from dockerarch.shell.model import Script
from dockerarch.shell.parse import parse_script
from dockerarch.syntax import Instruction
from dockerarch.syntax.positions import Segment, SourceMap

_SHELLS = lazy_compile(r"(?:/usr)?(?:/bin/)?(?:ba|da|a|z)?sh\Z")
# (?<!\d): a leftmost match never starts inside a digit run, and without it
# every position of a long digit run restarts the scan (quadratic).
_MARKER = lazy_compile(r"(?<!\d)\d*<<-?\S+")


def run_scripts(ins: Instruction, source: str) -> list[Script]:
    """Scripts of ``ins``; ``source`` is the Dockerfile text its spans index."""
    if ins.name != "RUN" or ins.json is not None:
        return []
    if not ins.heredocs:
        return [parse_script(ins.args, ins.args_map)]
    rest = _MARKER.sub(" ", ins.args).split()
    scripts: list[Script] = []
    body_is_script = not rest or (_SHELLS.match(rest[0]) is not None and _no_script_file(rest[1:]))
    if body_is_script:
        doc = ins.heredocs[0]
        scripts.append(
            parse_script(doc.body, SourceMap.identity(doc.body_span.start, len(doc.body)))
        )
        if rest:
            scripts.append(parse_script(ins.args, ins.args_map))
        return scripts
    # The heredocs are data for the command: give the shell the whole text so
    # it sees them as heredocs, not as commands.
    text = ins.args
    segments = list(ins.args_map.segments)
    for doc in ins.heredocs:
        end = doc.terminator.end if doc.terminator else doc.body_span.end
        segments.append(Segment(len(text), doc.body_span.start - 1, 1))
        text += "\n"
        segments.append(Segment(len(text), doc.body_span.start, end - doc.body_span.start))
        text += source[doc.body_span.start : end]
    return [parse_script(text, SourceMap(segments))]


def _no_script_file(args: list[str]) -> bool:
    """``bash -ex`` reads stdin; ``bash script.sh`` does not."""
    return all(a.startswith("-") for a in args)


def may_hold(ins: Instruction, needles: Iterable[str]) -> bool:
    """Whether a word of the RUN ``ins`` may hold one of ``needles`` (which hold no quote).

    "No" is exact, "yes" may be wrong: a rule asks before walking the RUN's commands, and
    most RUNs name none of the programs or strings it looks for. A word's value is its text
    with quotes removed and escapes applied; its raw text, literal pieces and an assignment's
    ``name=value`` are stretches of the script text. So when that text (the logical line and
    the heredoc bodies) has no backslash (no escape, ANSI-C ones included), a word holding a
    needle means the text without its quote characters holds it too.
    """
    flat = _flat_text(ins)
    return flat is None or holds_any(flat, needles)


def holds_any(text: str, needles: Iterable[str]) -> bool:
    """``any(needle in text for needle in needles)``, for the tests rules make of every RUN."""
    # A loop, not any() over a generator: 0.7% of a check in may_hold alone, measured
    # (any(map(text.__contains__, needles)): 0.4%).
    for needle in needles:  # noqa: SIM110
        if needle in text:
            return True
    return False


def _flat_text(ins: Instruction) -> str | None:
    """The RUN's text without its quote characters; None when it has a backslash."""
    if not ins.heredocs:
        try:
            return _flat[ins.args]
        except KeyError:
            pass
    text = "\n".join([ins.args, *(h.body for h in ins.heredocs)])
    flat = None if "\\" in text else text.replace('"', "").replace("'", "")
    if not ins.heredocs:
        _flat.keep(ins.args, flat)
    return flat


#: _flat_text of RUNs without heredocs, by their logical line: several rules ask may_hold
#: about every RUN (pip, npm, foreign packages), and files repeat RUN lines.
_FLAT_MAX = 4096
_flat: BoundedMemo[str, str | None] = BoundedMemo(_FLAT_MAX)
