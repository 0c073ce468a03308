from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from dockerarch.npmsources import (
    ContextError,
    NpmCommand,
    NpmDependency,
    parse_npm_command,
    parse_package_json,
    parse_package_lock,
    parse_pnpm_lock,
    parse_yarn_lock,
    read_npm_file,
    split_package_spec,
)

DATA = Path(__file__).parent / "data" / "npm"


def _cmd(line: str) -> NpmCommand | None:
    return parse_npm_command(line.split())


def _text(name: str) -> str:
    return (DATA / name).read_text(encoding="utf-8")


def _where(
    deps: list[NpmDependency], text: str, aliases: tuple[str, ...] = ()
) -> dict[str, tuple[str, int, int]]:
    """name -> (spec, line, column), checking each position points at the name in ``text``.

    Aliased packages are named by their alias key in the file, so only the line is checked.
    """
    lines = text.split("\n")
    out = {}
    for d in deps:
        assert d.position is not None
        line = lines[d.position.line - 1]
        assert text[d.position.offset] == line[d.position.column - 1]
        if d.name not in aliases:
            assert line[d.position.column - 1 :].startswith(d.name)
        out[d.name] = (d.spec, d.position.line, d.position.column)
    return out


# --- commands -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ("npm install canvas@2.11.2", [("canvas", "2.11.2")]),
        (
            "npm i @img/sharp-linux-arm64@0.33.0 express",
            [("@img/sharp-linux-arm64", "0.33.0"), ("express", "")],
        ),
        ("npm isntall sharp@latest", [("sharp", "latest")]),
        ("npm add lp@npm:left-pad@^1.3", [("left-pad", "^1.3")]),
        ("yarn add bcrypt@^5 --dev", [("bcrypt", "^5")]),
        ("yarn global add puppeteer", [("puppeteer", "")]),
        ("pnpm add better-sqlite3@~11.0", [("better-sqlite3", "~11.0")]),
        ("pnpm i -D argon2", [("argon2", "")]),
        ("/usr/local/bin/npm install --registry https://r.example/ canvas", [("canvas", "")]),
    ],
)
def test_install_commands_name_packages(words: str, expected: list[tuple[str, str]]) -> None:
    cmd = _cmd(words)
    assert cmd is not None
    assert [(p.name, p.spec) for p in cmd.packages] == expected
    assert not cmd.from_manifest
    for p in cmd.packages:
        assert p.word_index is not None and p.source == "command"


def test_word_index_points_at_the_package_word() -> None:
    words = ["npm", "install", "--omit", "dev", "canvas@2"]
    cmd = parse_npm_command(words)
    assert cmd is not None and cmd.omit_dev
    assert cmd.packages[0].word_index == 4


@pytest.mark.parametrize(
    "words",
    [
        "npm ci",
        "npm install",
        "npm clean-install --omit=dev",
        "yarn",
        "yarn install --frozen-lockfile",
        "pnpm install --prod",
    ],
)
def test_manifest_installs(words: str) -> None:
    cmd = _cmd(words)
    assert cmd is not None and cmd.from_manifest and cmd.packages == ()


def test_flags() -> None:
    cmd = _cmd("npm install -g --ignore-scripts --unsafe-perm canvas")
    assert cmd is not None
    assert cmd.ignore_scripts and cmd.global_install
    assert "--unsafe-perm" in cmd.flags
    cmd = _cmd("npm i --build-from-source --production --cpu=arm64 sqlite3")
    assert cmd is not None
    assert cmd.build_from_source and cmd.omit_dev and not cmd.ignore_scripts
    assert cmd.platform_overrides == {"cpu": "arm64"}
    cmd = _cmd("npm i --ignore-scripts=false x")
    assert cmd is not None and not cmd.ignore_scripts
    cmd = _cmd("npm_config_ignore_scripts=true npm ci")
    assert cmd is not None and cmd.ignore_scripts
    cmd = _cmd("npm ci --omit=optional")
    assert cmd is not None and cmd.omit_optional and not cmd.omit_dev


@pytest.mark.parametrize(
    "words", ["npm run build", "npm", "yarn build", "pnpm run test", "node index.js", "npx foo"]
)
def test_not_install_commands(words: str) -> None:
    assert _cmd(words) is None


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("canvas", ("canvas", "", True)),
        ("canvas@^2.11.2", ("canvas", "^2.11.2", True)),
        ("@scope/pkg@1.x", ("@scope/pkg", "1.x", True)),
        ("@scope/pkg", ("@scope/pkg", "", True)),
        ("user/repo", ("user/repo", "", False)),
        ("git+https://github.com/a/b.git", ("git+https://github.com/a/b.git", "", False)),
        ("./local-dir", ("./local-dir", "", False)),
        ("pkg@file:../x", ("pkg", "file:../x", False)),
        ("https://example.com/p.tgz", ("https://example.com/p.tgz", "", False)),
    ],
)
def test_split_package_spec(word: str, expected: tuple[str, str, bool]) -> None:
    assert split_package_spec(word) == expected


# --- files ------------------------------------------------------------------------------------


def test_package_json_positions_and_sections() -> None:
    text = _text("package.json")
    deps = parse_package_json(text)
    where = _where(deps, text, aliases=("left-pad",))
    assert where["canvas"] == ("^2.11.2", 5, 6)
    assert where["@img/sharp-linux-arm64"] == ("0.33.0", 6, 6)
    assert where["left-pad"] == ("^1.3.0", 8, 6)  # the alias resolves to the real package
    assert where["fsevents"] == ("2.x", 12, 29)
    by_name = {d.name: d for d in deps}
    assert by_name["puppeteer"].dev and not by_name["canvas"].dev
    assert by_name["fsevents"].optional
    assert not by_name["mylib"].registry and not by_name["fork"].registry
    assert by_name["express"].registry


def test_package_lock_v3() -> None:
    text = _text("package-lock.v3.json")
    deps = parse_package_lock(text)
    where = _where(deps, text, aliases=("left-pad",))
    assert where["canvas"] == ("2.11.2", 7, 19)
    assert where["bcrypt"] == ("5.0.1", 15, 36)
    assert where["left-pad"] == ("1.3.0", 16, 19)
    by_name = {d.name: d for d in deps}
    assert "ws" not in by_name  # workspace link
    assert by_name["canvas"].has_install_script and by_name["canvas"].locked
    assert by_name["bcrypt"].dev and by_name["@img/sharp-linux-arm64"].optional


def test_package_lock_v1_nested_and_aliases() -> None:
    text = _text("package-lock.v1.json")
    where = _where(parse_package_lock(text), text, aliases=("left-pad",))
    assert where == {
        "bcrypt": ("5.0.1", 5, 6),
        "node-addon-api": ("3.2.1", 9, 10),
        "puppeteer": ("21.0.0", 12, 6),
        "left-pad": ("1.3.0", 13, 6),
    }


def test_yarn_classic() -> None:
    text = _text("yarn.v1.lock")
    where = _where(parse_yarn_lock(text), text)
    assert where == {
        "@img/sharp-linux-arm64": ("0.33.0", 5, 2),
        "canvas": ("2.11.2", 9, 1),
        "nan": ("2.17.0", 15, 1),
    }


def test_yarn_berry() -> None:
    text = _text("yarn.berry.lock")
    deps = parse_yarn_lock(text)
    where = _where(deps, text)
    assert where["canvas"] == ("2.11.2", 7, 2)
    assert where["sharp"] == ("0.33.0", 19, 2)
    assert not {d.name: d for d in deps}["demo"].registry


def test_pnpm_v6() -> None:
    text = _text("pnpm-lock.v6.yaml")
    deps = parse_pnpm_lock(text)
    where = _where(deps, text)
    assert where == {
        "canvas": ("2.11.2", 15, 4),
        "@img/sharp-linux-arm64": ("0.33.0", 20, 4),
        "puppeteer": ("21.0.0", 28, 4),
    }
    by_name = {d.name: d for d in deps}
    assert by_name["puppeteer"].dev and not by_name["canvas"].dev
    assert by_name["canvas"].has_install_script


def test_pnpm_v9_dev_from_importers() -> None:
    text = _text("pnpm-lock.v9.yaml")
    deps = parse_pnpm_lock(text)
    where = _where(deps, text)
    assert where == {
        "@img/sharp-linux-arm64": ("0.33.0", 17, 4),
        "puppeteer": ("21.0.0", 22, 3),
        "sharp": ("0.33.0", 26, 3),
    }
    by_name = {d.name: d for d in deps}
    assert by_name["puppeteer"].dev and not by_name["sharp"].dev


def test_pnpm_v5_keys() -> None:
    text = (
        "lockfileVersion: 5.4\n\npackages:\n\n  /canvas/2.11.2:\n    dev: false\n"
        "  /@img/sharp-linux-arm64/0.33.0_abc:\n    dev: true\n"
    )
    deps = parse_pnpm_lock(text)
    assert [(d.name, d.spec, d.dev) for d in deps] == [
        ("canvas", "2.11.2", False),
        ("@img/sharp-linux-arm64", "0.33.0", True),
    ]


# --- the build context --------------------------------------------------------------------


def test_read_inside_context(tmp_path: Path) -> None:
    shutil.copy(DATA / "package-lock.v3.json", tmp_path / "package-lock.json")
    deps = read_npm_file("package-lock.json", tmp_path)
    assert deps[0].source == "package-lock.json" and deps[0].name == "canvas"


def test_refuses_escapes(tmp_path: Path) -> None:
    root = tmp_path / "ctx"
    root.mkdir()
    shutil.copy(DATA / "package.json", tmp_path / "package.json")
    with pytest.raises(ContextError):
        read_npm_file("../package.json", root)
    (root / "sub").mkdir()
    os.symlink(tmp_path / "package.json", root / "sub" / "package.json")
    with pytest.raises(ContextError):
        read_npm_file("sub/package.json", root)


def test_bad_json_is_a_context_error(tmp_path: Path) -> None:
    (tmp_path / "package.json").write_text('{"dependencies": {"a": "1",}}')
    with pytest.raises(ContextError):
        read_npm_file("package.json", tmp_path)
