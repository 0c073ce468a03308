"""Whether pip finds a wheel for a requirement on each target platform of a Dockerfile.

Per platform that builds the install: the version pip picks for the stage's Python,
and whether a wheel matches that Python, libc and architecture, from the offline
snapshot or, with ``--online``, the package index.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from dockerarch.engine import Context
from dockerarch.knowledge import pypi
from dockerarch.knowledge.pypi import Libc
from dockerarch.pysites import PipSite
from dockerarch.pysources import PyRequirement
from dockerarch.pysources.markers import marker_holds
from dockerarch.pyspecifiers import parse_version, specifier_set
from dockerarch.records import record
from dockerarch.stageenv import StageEnv, stage_env

TYPE_CHECKING = False
if TYPE_CHECKING:
    from packaging.version import Version


class _OnlineFirst:
    """The package index's answers while it gives them, the offline snapshot's after that.

    The first failure (timeout, HTTP error) ends asking for the rest of the file: one
    bounded wait per run, not one per package.
    """

    def __init__(self, ctx: Context) -> None:
        from dockerarch.knowledge.pypi_online import PyPIClient

        cache = ctx.settings.cache_dir
        self.client = PyPIClient(cache_dir=None if cache is None else Path(cache) / "pypi")
        self.ctx = ctx
        self.failed = False

    def releases(self, name: str) -> Sequence[pypi.Release] | None:
        from dockerarch.knowledge.pypi_online import IndexUnavailable

        if not self.failed:
            try:
                found = self.client.releases(name)
            except IndexUnavailable as exc:
                self.failed = True
                self.ctx.warnings.append(
                    f"the package index did not answer ({exc}); Python wheel checks use the "
                    f"offline snapshot of {pypi.snapshot_date()}"
                )
            else:
                if found is not None:
                    return found
        return pypi.snapshot().releases(name)


def pypi_provider(ctx: Context, req: PyRequirement) -> pypi.Provider | None:
    """Where to look ``req`` up: None for the snapshot, or the index with ``--online``
    when the snapshot does not know the package or the pinned version."""
    assert req.name is not None
    if not ctx.settings.online:
        return None
    known = pypi.snapshot().releases(req.name)
    if known is not None and (req.pin is None or any(r.version == req.pin for r in known)):
        return None
    online = ctx.cache.get("pypi_online")
    if not isinstance(online, _OnlineFirst):
        online = ctx.cache["pypi_online"] = _OnlineFirst(ctx)
    return online


@record
class PlatformAnswer:
    """The wheel answer for one requirement on one target platform, with what it assumed."""

    arch: str
    platform: str
    #: As packaging prints it (``2.31.0``); :attr:`version` reads it.
    version_text: str
    wheel: pypi.WheelAnswer
    python: tuple[int, int] | None
    python_reason: str
    libc: Libc
    libc_version: tuple[int, int] | None
    env: StageEnv

    @property
    def version(self) -> Version:
        return parse_version(self.version_text)


def wheel_answers(
    ctx: Context, site: PipSite, req: PyRequirement, provider: pypi.Provider | None
) -> list[PlatformAnswer]:
    """One answer per target platform that runs ``site`` and whose marker installs ``req``
    (none where no version satisfies it)."""
    out = []
    assert req.name is not None
    for view in ctx.views():
        if (
            not view.reaches(site.instruction)
            or site.command.guard.runs_on(view.platform.arch) is False
        ):
            continue
        senv = stage_env(view, site.stage, ctx.context_dir)
        python, reason = senv.python_before(site.command.span.start)
        if not marker_holds(req, python, view.platform.arch):
            continue
        _explain_unknowns(ctx, senv, python)
        version = req.pin_text
        if version is None:
            chosen = pypi.choose_version(
                req.name, specifier_set(req.specifier), python, provider=provider
            )
            if chosen is None:
                continue
            version = str(chosen)
        base = senv.base
        libc: Libc = "musl" if base and base.libc == "musl" else "glibc"
        lv = base.libc_version if base else None
        libc_version = (lv[0], lv[1]) if lv is not None else None
        arch = view.platform.arch
        wheel = pypi.wheel_platforms(
            req.name, version, python, libc, libc_version, [arch], provider=provider
        )[arch]
        out.append(
            PlatformAnswer(
                arch, str(view.platform), version, wheel, python, reason, libc, libc_version, senv
            )
        )
    return out


def _explain_unknowns(ctx: Context, senv: StageEnv, python: tuple[int, int] | None) -> None:
    """Say for --verbose why a stage's wheel answers are vague (once per stage and reason)."""
    # Asked for every requirement on every platform: worked out once per stage, platform
    # and Python.
    asked = ("explained_unknowns", senv.stage.index, senv.view.platform, python)
    if asked in ctx.cache:
        return
    ctx.cache[asked] = True
    stage = f"stage '{senv.stage.label}'"
    if senv.image is None:
        why = "its base image depends on a build argument without a usable default"
    elif senv.base is None:
        why = f"base image {senv.image} not in snapshot"
    else:
        why = f"base image {senv.image} ships none and no install of one was recognised"
    notes = []
    if python is None:
        notes.append(f"{stage}: Python version unknown: {why}; wheels for every CPython tried")
    if senv.base is None or senv.base.libc is None:
        libc_why = why if senv.base is None else f"base image {senv.image} has no known libc"
        notes.append(f"{stage}: libc unknown: {libc_why}; glibc assumed")
    for note in notes:
        if note not in ctx.notes:
            ctx.notes.append(note)
