"""PEP 508 environment markers evaluated for a container's target platform."""

from __future__ import annotations

from dockerarch.pysources.model import PyRequirement

#: CPython minors a marker is evaluated for when the stage's Python is unknown.
PYTHONS = tuple((3, minor) for minor in range(6, 15))
#: ``platform_machine`` of a Linux container per BuildKit TARGETARCH.
MACHINE = {"amd64": "x86_64", "arm64": "aarch64", "386": "i686", "arm": "armv7l"}


def marker_environment(python: tuple[int, int], arch: str) -> dict[str, str]:
    """The marker environment of CPython ``python`` in a Linux container for ``arch``."""
    # Imported here: only a requirement with a marker needs packaging's marker module.
    from packaging.markers import default_environment

    # The host's environment fills the keys a container does not change the meaning of.
    env: dict[str, str] = {k: str(v) for k, v in default_environment().items()}
    env.update(
        python_version=f"{python[0]}.{python[1]}",
        python_full_version=f"{python[0]}.{python[1]}.0",
        platform_machine=MACHINE.get(arch, arch),
        sys_platform="linux",
        platform_system="Linux",
        os_name="posix",
    )
    return env


def marker_holds(req: PyRequirement, python: tuple[int, int] | None, arch: str) -> bool:
    """False only when the requirement's marker rules this platform out (for every CPython,
    when the stage's is unknown)."""
    if req.marker is None:
        return True
    marker = req.marker
    return any(
        marker.evaluate(marker_environment(p, arch)) for p in ([python] if python else PYTHONS)
    )
