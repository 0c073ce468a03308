"""Build needs of native packages and the distro packages that satisfy them."""

from __future__ import annotations

import pytest

from dockerarch.knowledge.builddeps import (
    BuildNeeds,
    missing,
    normalize_package,
    packages_for,
    provides,
    requirements_for,
    source_build_needs,
    toolchain_for,
)

CANVAS = {
    "yum": "gcc-c++ cairo-devel libjpeg-turbo-devel pango-devel giflib-devel",
    "dnf": "gcc-c++ cairo-devel libjpeg-turbo-devel pango-devel giflib-devel",
    "apt": "build-essential libcairo2-dev libpango1.0-dev libjpeg-dev libgif-dev librsvg2-dev",
    "apk": "build-base cairo-dev pango-dev jpeg-dev giflib-dev",
}


@pytest.mark.parametrize(("pm", "expected"), sorted(CANVAS.items()))
def test_canvas_on_a_bare_image_is_upstreams_line(pm: str, expected: str) -> None:
    needs = requirements_for("npm", "canvas")
    assert needs is not None
    assert packages_for(pm, missing(pm, [], needs)) == expected.split()


def test_canvas_with_node_gyp_toolchain_adds_make_and_python() -> None:
    needs = requirements_for("npm", "canvas")
    assert needs is not None
    got = packages_for("yum", needs | toolchain_for("npm"))
    assert got == [*CANVAS["yum"].split(), "make", "python3"]
    # build-essential already brings make on apt; only the interpreter is added.
    assert packages_for("apt", needs | toolchain_for("npm")) == [*CANVAS["apt"].split(), "python3"]


def test_canvas_only_missing_libraries_are_installed() -> None:
    needs = requirements_for("npm", "canvas")
    assert needs is not None
    todo = missing("apt", ["build-essential", "libcairo2-dev=1.16.0-7"], needs)
    assert todo.capabilities == ("pango", "libjpeg", "giflib")
    assert packages_for("apt", todo) == [
        "libpango1.0-dev",
        "libjpeg-dev",
        "libgif-dev",
        "librsvg2-dev",
    ]


@pytest.mark.parametrize(
    ("pm", "packages", "capabilities"),
    [
        ("apt", ["build-essential"], {"cc", "c++", "make", "linux-headers"}),
        ("apt", ["gcc-12", "g++-12"], {"cc", "c++"}),
        ("apt", ["libc6-dev:amd64"], {"linux-headers"}),
        ("apt", ["python3-dev=3.11*"], {"python3", "python-headers"}),
        ("apt", ["libpython3.11-dev"], {"python-headers"}),
        ("apt", ["cargo", "gfortran"], {"rust", "fortran"}),
        ("apk", ["build-base"], {"cc", "c++", "make"}),
        ("apk", ["python3-dev~=3.11"], {"python3", "python-headers"}),
        ("apk", ["pkgconf", "openblas-dev"], {"pkg-config", "blas", "lapack"}),
        ("yum", ["@development-tools"], {"cc", "c++", "make", "pkg-config", "linux-headers"}),
        ("dnf", ["@Development Tools"], {"cc", "c++", "make", "pkg-config", "linux-headers"}),
        ("yum", ['"Development Tools"'], {"cc", "c++", "make", "pkg-config", "linux-headers"}),
        ("yum", ["gcc-c++-11.3"], {"cc", "c++", "linux-headers"}),
        ("dnf", ["python3.11-devel"], {"python3", "python-headers"}),
        ("microdnf", ["postgresql-devel", "libpq-devel"], {"libpq"}),
        (
            "zypper",
            ["gcc-c++", "python311-devel"],
            {"cc", "c++", "linux-headers", "python3", "python-headers"},
        ),
        ("apt", ["curl", "ca-certificates"], set()),
    ],
)
def test_provides(pm: str, packages: list[str], capabilities: set[str]) -> None:
    assert provides(pm, packages) == capabilities


@pytest.mark.parametrize(
    ("spec", "name"),
    [
        ("gcc=4:12.2.0-3", "gcc"),
        ("python3-dev=3.11*", "python3-dev"),
        ("gcc-c++-11.3", "gcc-c++"),
        ("gcc-c++-11.3.1-4.el9", "gcc-c++"),
        ("openssl-devel-1:3.0.7-27.el9", "openssl-devel"),
        ("libc6-dev:amd64", "libc6-dev"),
        ("python3.11-dev", "python3.11-dev"),
        ("libpython3.11-dev:arm64", "libpython3.11-dev"),
        ("python3.11-3.11.5-1.el9", "python3.11"),
        ("build-base>=0.5", "build-base"),
        ("cairo-dev@edge", "cairo-dev"),
        ("gcc-12", "gcc-12"),
        ("'libpq-dev'", "libpq-dev"),
    ],
)
def test_normalize_package(spec: str, name: str) -> None:
    assert normalize_package(spec) == name


@pytest.mark.parametrize(
    ("ecosystem", "package", "pm", "python_version", "expected"),
    [
        ("pypi", "psycopg2", "apt", None, ["build-essential", "python3-dev", "libpq-dev"]),
        ("pypi", "psycopg2", "apt", (3, 11), ["build-essential", "python3.11-dev", "libpq-dev"]),
        ("pypi", "psycopg2", "yum", None, ["gcc", "python3-devel", "postgresql-devel"]),
        ("pypi", "psycopg2", "dnf", (3, 9), ["gcc", "python39-devel", "postgresql-devel"]),
        ("pypi", "psycopg2", "dnf", (3, 12), ["gcc", "python3.12-devel", "postgresql-devel"]),
        ("pypi", "psycopg2", "apk", (3, 12), ["build-base", "python3-dev", "postgresql-dev"]),
        ("pypi", "lxml", "apk", None, ["build-base", "python3-dev", "libxml2-dev", "libxslt-dev"]),
        (
            "pypi",
            "Pillow",
            "apt",
            None,
            ["build-essential", "python3-dev", "libjpeg-dev", "zlib1g-dev"],
        ),
        (
            "pypi",
            "pillow",
            "yum",
            None,
            ["gcc", "python3-devel", "libjpeg-turbo-devel", "zlib-devel"],
        ),
        ("pypi", "pillow", "apk", None, ["build-base", "python3-dev", "jpeg-dev", "zlib-dev"]),
        (
            "pypi",
            "scipy",
            "apt",
            None,
            ["build-essential", "pkg-config", "python3-dev", "gfortran", "libopenblas-dev"],
        ),
        (
            "pypi",
            "scipy",
            "dnf",
            None,
            [
                "gcc",
                "gcc-c++",
                "pkgconf-pkg-config",
                "python3-devel",
                "gcc-gfortran",
                "openblas-devel",
            ],
        ),
        ("pypi", "confluent_kafka", "apk", None, ["build-base", "python3-dev", "librdkafka-dev"]),
        ("pypi", "confluent-kafka", "yum", None, ["gcc", "python3-devel", "librdkafka-devel"]),
        ("pypi", "pyodbc", "apt", None, ["build-essential", "python3-dev", "unixodbc-dev"]),
        (
            "pypi",
            "cryptography",
            "apk",
            None,
            ["build-base", "python3-dev", "cargo", "openssl-dev", "libffi-dev"],
        ),
        ("pypi", "pyyaml", "apt", None, []),
        ("npm", "usb", "apt", None, ["build-essential", "libudev-dev"]),
        ("npm", "sharp", "apk", None, ["build-base", "pkgconf", "vips-dev"]),
        ("gem", "pg", "apt", None, ["build-essential", "libpq-dev"]),
        ("gem", "mysql2", "yum", None, ["gcc", "make", "mariadb-connector-c-devel"]),
    ],
)
def test_packages_for_a_bare_image(
    ecosystem: str,
    package: str,
    pm: str,
    python_version: tuple[int, int] | None,
    expected: list[str],
) -> None:
    needs = requirements_for(ecosystem, package)  # type: ignore[arg-type]
    assert needs is not None
    assert packages_for(pm, needs, python_version) == expected


def test_missing_keeps_order_and_drops_what_is_there() -> None:
    needs = requirements_for("pypi", "scipy")
    assert needs is not None
    assert needs.capabilities == (
        "cc",
        "c++",
        "pkg-config",
        "python-headers",
        "fortran",
        "blas",
        "lapack",
    )
    todo = missing("apt", ["build-essential", "libopenblas-dev"], needs, have={"python-headers"})
    assert todo.capabilities == ("pkg-config", "fortran")
    assert packages_for("apt", todo) == ["pkg-config", "gfortran"]
    assert not missing(
        "apt",
        ["build-essential", "pkg-config", "gfortran", "libopenblas-dev"],
        needs,
        have={"python-headers"},
    )


def test_python_image_already_has_headers_and_compiler() -> None:
    # python:3.12 (full) ships gcc and libpq-dev via buildpack-deps; nothing is left to install.
    from dockerarch.knowledge.distros import base_environment

    env = base_environment("python:3.12")
    needs = requirements_for("pypi", "psycopg2")
    assert env is not None and needs is not None and env.package_manager == "apt"
    assert not missing(env.package_manager, env.packages, needs, have=env.capabilities)


def test_union_orders_toolchain_first() -> None:
    merged = BuildNeeds(("libpq",)) | BuildNeeds(("python-headers", "cc"))
    assert merged.capabilities == ("cc", "python-headers", "libpq")
    assert toolchain_for("npm").capabilities == ("c++", "make", "python3")
    assert toolchain_for("pypi").capabilities == ("cc", "python-headers")


@pytest.mark.parametrize(
    ("ecosystem", "package"),
    [("npm", "canvas"), ("pypi", "psycopg2"), ("pypi", "Psycopg2"), ("npm", "left-pad")],
)
def test_source_build_needs_are_the_toolchain_and_the_packages_own(
    ecosystem: str, package: str
) -> None:
    own = requirements_for(ecosystem, package)  # type: ignore[arg-type]
    toolchain = toolchain_for(ecosystem)  # type: ignore[arg-type]
    expected = toolchain if own is None else toolchain | own
    got = source_build_needs(ecosystem, package)  # type: ignore[arg-type]
    assert got == expected
    assert (got.recipes, got.source, got.note) == (expected.recipes, expected.source, expected.note)
    # Kept: every build on every platform asks.
    assert source_build_needs(ecosystem, package) is got  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("ecosystem", "package"),
    [("pypi", "requests"), ("npm", "left-pad"), ("gem", "rails"), ("pypi", "")],
)
def test_unknown_packages_are_none(ecosystem: str, package: str) -> None:
    assert requirements_for(ecosystem, package) is None  # type: ignore[arg-type]


def test_unknown_package_manager_is_an_error() -> None:
    with pytest.raises(ValueError, match="pacman"):
        provides("pacman", ["gcc"])


def test_every_capability_has_an_install_package_on_the_main_families() -> None:
    needed: set[str] = set()
    for ecosystem in ("pypi", "npm", "gem"):
        for package in _names(ecosystem):
            needs = requirements_for(ecosystem, package)
            assert needs is not None and needs.source, package
            needed |= set(needs.capabilities) | needs.optional
    for pm in ("apt", "apk", "dnf"):
        for capability in sorted(needed):
            packages = packages_for(pm, BuildNeeds((capability,)))
            assert packages, (pm, capability)
            assert capability in provides(pm, packages), (pm, capability, packages)


def _names(ecosystem: str) -> list[str]:
    from dockerarch.knowledge import builddeps

    return sorted(builddeps._data()[ecosystem])


@pytest.mark.parametrize("manager", ["apt", "apk", "dnf", "yum", "zypper", "microdnf"])
def test_provides_matches_every_pattern_as_fnmatch_would(manager: str) -> None:
    from fnmatch import fnmatchcase

    from dockerarch.knowledge.builddeps import _family_table, _provided_by

    table = _family_table(manager, "provides")
    names = {p.lower() for p in table} | {"gcc-12", "python3.11-dev", "clang15", "g++-13", "zz"}
    for name in names:
        expected = {c for p, caps in table.items() if fnmatchcase(name, p.lower()) for c in caps}
        assert _provided_by(manager, name) == expected, name
