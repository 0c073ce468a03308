"""Configuration files, their discovery and precedence, and rule selection layers."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dockerarch.commands._common import Input
from dockerarch.config import (
    ConfigError,
    FileConfig,
    Overrides,
    Resolver,
    Selection,
    load_config,
    settings_for,
)
from dockerarch.diagnostics import Severity
from dockerarch.discover import GlobSet
from dockerarch.platforms import DEFAULT_PLATFORMS, Platform


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def enabled(config: FileConfig, code: str, cli: Overrides | None = None, name: str = "x") -> bool:
    return settings_for(config, cli or Overrides(), config.root / name).enabled(code)


# -- discovery ----------------------------------------------------------------------


def test_closest_file_wins(tmp_path: Path) -> None:
    write(tmp_path / ".dockerarch.toml", 'ignore = ["DA101"]\n')
    write(tmp_path / "svc/pyproject.toml", '[tool.dockerarch]\nselect = ["DA2"]\n')
    resolver = Resolver()
    top = resolver.for_file(tmp_path / "Dockerfile")
    deep = resolver.for_file(tmp_path / "svc/deeper/Dockerfile")
    assert top.path == tmp_path / ".dockerarch.toml"
    assert deep.path == tmp_path / "svc/pyproject.toml"
    assert not enabled(top, "DA101") and enabled(top, "DA102")
    # Not merged: the closer file's select is all that applies there.
    assert enabled(deep, "DA201") and not enabled(deep, "DA102")


def test_same_directory_order(tmp_path: Path) -> None:
    write(tmp_path / "setup.cfg", "[dockerarch]\nselect = DA3\n")
    assert Resolver().for_directory(tmp_path).path == tmp_path / "setup.cfg"
    write(tmp_path / "pyproject.toml", '[tool.dockerarch]\nselect = ["DA2"]\n')
    assert Resolver().for_directory(tmp_path).path == tmp_path / "pyproject.toml"
    write(tmp_path / ".dockerarch.toml", 'select = ["DA1"]\n')
    assert Resolver().for_directory(tmp_path).path == tmp_path / ".dockerarch.toml"


def test_files_without_a_dockerarch_section_are_passed_over(tmp_path: Path) -> None:
    write(tmp_path / ".dockerarch.toml", 'ignore = ["DA101"]\n')
    write(tmp_path / "a/pyproject.toml", "[tool.black]\nline-length = 100\n")
    write(tmp_path / "a/setup.cfg", "[metadata]\nname = x\n")
    assert Resolver().for_directory(tmp_path / "a").path == tmp_path / ".dockerarch.toml"


def test_explicit_config_and_isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "svc/.dockerarch.toml", 'ignore = ["DA101"]\n')
    explicit = write(tmp_path / "conf/dockerarch.toml", 'exclude = ["svc/old"]\n')
    fixed = Resolver(config_file=explicit).for_directory(tmp_path / "svc")
    assert fixed.path == explicit
    assert enabled(fixed, "DA101")
    # Globs of an explicit --config are relative to the working directory, as in ruff.
    assert fixed.exclude.matches(tmp_path / "svc/old/Dockerfile", False)
    isolated = Resolver(isolated=True).for_directory(tmp_path / "svc")
    assert isolated.path is None and enabled(isolated, "DA101")


# -- file formats -------------------------------------------------------------------


def test_toml_keys(tmp_path: Path) -> None:
    path = write(
        tmp_path / ".dockerarch.toml",
        """
select = ["DA1", "da2"]
extend-select = ["DA901"]
ignore = ["DA102"]
platforms = ["linux/arm64", "linux/arm/v7", "linux/x86_64"]
online = true
cache-dir = ".cache/dockerarch"
exclude = ["vendor/"]

[severity]
DA101 = "warning"

[per-file-ignores]
"legacy/*" = ["DA1"]
""",
    )
    config = load_config(path)
    assert config.selection == Selection(("DA1", "DA2"), ("DA901",), ("DA102",))
    assert config.platforms == (
        Platform("linux", "arm64"),
        Platform("linux", "arm", "v7"),
        Platform("linux", "amd64"),
    )
    assert config.online is True
    assert config.cache_dir == tmp_path / ".cache/dockerarch"
    assert config.severity == {"DA101": Severity.WARNING}
    settings = settings_for(config, Overrides(), tmp_path / "Dockerfile")
    assert settings.online and settings.severity == {"DA101": Severity.WARNING}
    assert settings.enabled("DA101") and not settings.enabled("DA102")
    assert settings.enabled("DA901") and not settings.enabled("DA301")
    assert not enabled(config, "DA101", name="legacy/Dockerfile")
    assert config.exclude.matches(tmp_path / "vendor/x/Dockerfile", False)


def test_setup_cfg_lists(tmp_path: Path) -> None:
    path = write(
        tmp_path / "setup.cfg",
        """[dockerarch]
select = DA1, DA2
ignore =
    DA102
    DA103
platforms = linux/amd64,linux/arm64
online = yes
per-file-ignores =
    legacy/*: DA101, DA110
severity =
    DA101: info
""",
    )
    config = load_config(path)
    assert config.selection == Selection(("DA1", "DA2"), (), ("DA102", "DA103"))
    assert config.platforms == DEFAULT_PLATFORMS
    assert config.online is True
    assert config.severity == {"DA101": Severity.INFO}
    assert not enabled(config, "DA110", name="legacy/Dockerfile")
    assert enabled(config, "DA110", name="Dockerfile")


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        (".dockerarch.toml", 'selct = ["DA1"]', "unknown key 'selct' (did you mean 'select'?)"),
        (".dockerarch.toml", "colour = true", "unknown key 'colour'"),
        (".dockerarch.toml", 'select = "DA101"', "'select' must be a list of strings"),
        (".dockerarch.toml", 'select = ["E501"]', "'select': invalid rule selector 'E501'"),
        (".dockerarch.toml", 'platforms = ["linux/"]', "'platforms': not a platform: 'linux/'"),
        (
            ".dockerarch.toml",
            'platforms = ["linux/arm46"]',
            "'platforms': unknown architecture 'arm46' in 'linux/arm46'",
        ),
        (".dockerarch.toml", 'online = "yes"', "'online' must be true or false"),
        (".dockerarch.toml", "cache-dir = 3", "'cache-dir' must be a string"),
        (".dockerarch.toml", 'severity = "high"', "'severity' must be a table"),
        (
            ".dockerarch.toml",
            "[severity]\nDA101 = 'fatal'",
            "'severity': 'DA101' must be error, warning or info, not 'fatal'",
        ),
        (
            ".dockerarch.toml",
            "[per-file-ignores]\nx = 'DA1'",
            "'per-file-ignores': value for 'x' must be a list",
        ),
        (".dockerarch.toml", "select = [", "invalid TOML: "),
        ("pyproject.toml", "[tool.dockerarch]\nignroe = []", "unknown key 'ignroe' (did you"),
        ("setup.cfg", "[dockerarch]\nonline = maybe\n", "'online' must be true or false"),
        ("setup.cfg", "[dockerarch]\nexlude = a\n", "unknown key 'exlude' (did you mean"),
        (
            "setup.cfg",
            "[dockerarch]\nseverity = DA101\n",
            "'severity': expected 'name: value' lines",
        ),
    ],
)
def test_invalid_config_names_file_and_key(
    tmp_path: Path, name: str, text: str, message: str
) -> None:
    path = write(tmp_path / name, text + "\n")
    with pytest.raises(ConfigError) as info:
        Resolver().for_directory(tmp_path)
    assert str(info.value).startswith(f"{path}: {message}")
    assert "\n" not in str(info.value)


def test_invalid_config_from_the_command_line(tmp_path: Path) -> None:
    write(tmp_path / ".dockerarch.toml", 'selct = ["DA1"]\n')
    write(tmp_path / "Dockerfile", "FROM alpine\n")
    r = subprocess.run(
        [sys.executable, "-m", "dockerarch", "check"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2
    where = tmp_path / ".dockerarch.toml"
    assert r.stderr == f"dockerarch: {where}: unknown key 'selct' (did you mean 'select'?)\n"
    assert r.stdout == ""


# -- layers -------------------------------------------------------------------------


def cli(select: str | None = None, extend: str = "", ignore: str = "") -> Overrides:
    def codes(s: str) -> tuple[str, ...]:
        return tuple(c for c in s.split(",") if c)

    return Overrides(
        Selection(codes(select) if select is not None else None, codes(extend), codes(ignore))
    )


@pytest.mark.parametrize(
    ("file", "flags", "expected"),
    [
        # Within one layer the more specific selector wins.
        (Selection(select=("DA101",), ignore=("DA1",)), cli(), True),
        (Selection(select=("DA1",), ignore=("DA101",)), cli(), False),
        # The command line's --select starts over, dropping the file's ignore.
        (Selection(ignore=("DA101",)), cli(select="DA101"), True),
        (Selection(ignore=("DA101",)), cli(select="DA2"), False),
        # A later layer re-enables narrower ignores and overrides narrower selects.
        (Selection(ignore=("DA101",)), cli(extend="DA1"), True),
        (Selection(select=("DA101",)), cli(ignore="DA1"), False),
        (Selection(ignore=("DA1",)), cli(extend="DA101"), True),
        (Selection(select=("DA2",)), cli(), False),
    ],
)
def test_selection_layers(
    tmp_path: Path, file: Selection, flags: Overrides, expected: bool
) -> None:
    config = FileConfig(tmp_path / ".dockerarch.toml", tmp_path, selection=file)
    assert enabled(config, "DA101", flags) is expected


def test_per_file_ignores_beat_the_command_line(tmp_path: Path) -> None:
    path = write(tmp_path / ".dockerarch.toml", '[per-file-ignores]\n"legacy/**" = ["DA1"]\n')
    config = load_config(path)
    assert not enabled(config, "DA101", cli(select="DA101"), name="legacy/a/Dockerfile")
    assert enabled(config, "DA101", cli(select="DA101"), name="Dockerfile")


def test_command_line_overrides_file_values(tmp_path: Path) -> None:
    path = write(
        tmp_path / ".dockerarch.toml",
        'platforms = ["linux/arm64"]\nonline = true\ncache-dir = "c"\n',
    )
    config = load_config(path)
    settings = settings_for(config, Overrides(), None)
    assert settings.platforms == (Platform("linux", "arm64"),)
    assert (settings.online, settings.cache_dir) == (True, tmp_path / "c")
    flags = Overrides(
        platforms=(Platform("linux", "amd64"),), online=False, cache_dir=Path("/x"), verbose=True
    )
    settings = settings_for(config, flags, None)
    assert settings.platforms == (Platform("linux", "amd64"),)
    assert (settings.online, settings.cache_dir, settings.verbose) == (False, Path("/x"), True)


# -- globs --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("patterns", "path", "is_dir", "expected"),
    [
        (["build"], "a/build/Dockerfile", False, True),
        (["build"], "a/builder/Dockerfile", False, False),
        (["/build"], "a/build/Dockerfile", False, False),
        (["/build"], "build/Dockerfile", False, True),
        (["a/build"], "x/a/build", True, False),
        (["tmp/"], "tmp", False, False),
        (["tmp/"], "tmp", True, True),
        (["tmp/"], "tmp/Dockerfile", False, True),
        (["*.old"], "svc/Dockerfile.old", False, True),
        (["svc/*.old"], "svc/deep/Dockerfile.old", False, False),
        (["svc/**/*.old"], "svc/deep/er/Dockerfile.old", False, True),
        (["svc/**/*.old"], "svc/Dockerfile.old", False, True),
        (["**/gen"], "a/b/gen/Dockerfile", False, True),
        (["gen/**"], "gen/x/Dockerfile", False, True),
        (["Dockerfile.?"], "Dockerfile.a", False, True),
        (["Dockerfile.[!a]"], "Dockerfile.a", False, False),
        (["Dockerfile.[!a]"], "Dockerfile.b", False, True),
        (["*.Dockerfile", "!keep.Dockerfile"], "keep.Dockerfile", False, False),
        (["*.Dockerfile", "!keep.Dockerfile"], "drop.Dockerfile", False, True),
        (["# comment", ""], "# comment", False, False),
    ],
)
def test_gitignore_globs(
    tmp_path: Path, patterns: list[str], path: str, is_dir: bool, expected: bool
) -> None:
    assert GlobSet(patterns, tmp_path).matches(tmp_path / path, is_dir) is expected


@given(
    st.sampled_from(["", "linux", "windows"]),
    st.sampled_from(["", "amd64", "arm"]),
    st.sampled_from(["", "v7", "v8"]),
)
def test_platform_text_joins_the_parts_it_has(os_: str, arch: str, variant: str) -> None:
    # __str__ spells the usual case out; any platform reads as its non-empty parts joined.
    platform = Platform(os_, arch, variant)
    assert str(platform) == "/".join(p for p in (os_, arch, variant) if p)


def _inputs(*argv: str) -> list[Input]:
    from dockerarch.cli import build_parser
    from dockerarch.commands._common import Problems, iter_inputs

    args = build_parser("check").parse_args(["check", *argv])
    return list(iter_inputs(args, Problems()))


def test_files_of_a_directory_share_settings_unless_ignored_per_file(tmp_path: Path) -> None:
    for name in ("a.Dockerfile", "b.Dockerfile"):
        write(tmp_path / name, "FROM --platform=linux/amd64 alpine\n")
    a, b = (str(tmp_path / n) for n in ("a.Dockerfile", "b.Dockerfile"))
    first, second = _inputs("--isolated", a, b)
    assert first.settings is second.settings  # worked out once for the directory
    write(tmp_path / ".dockerarch.toml", '[per-file-ignores]\n"b.Dockerfile" = ["DA101"]\n')
    first, second = _inputs(a, b)
    assert first.settings.enabled("DA101") and not second.settings.enabled("DA101")
