"""Recognise ``pip install`` (and friends) in a command's words and parse its arguments."""

from __future__ import annotations

from collections.abc import Sequence

from dockerarch.lazyre import lazy_compile
from dockerarch.pysources import PROGRAM_STARTS
from dockerarch.pysources.model import IndexOptions
from dockerarch.pysources.optscan import POSITIONAL, UNKNOWN, OptionTable, scan, table
from dockerarch.records import field, record


@record(slots=True)
class Arg:
    """An argument value: its text, the index of the word holding it, its offset in that word."""

    text: str
    word: int
    start: int = 0


@record(frozen=False)
class PipInstall(IndexOptions):
    """The arguments of one ``pip install`` / ``uv pip install`` / ``uv pip sync``.

    Word indices refer to the word list given to :func:`pip_install_args`.
    """

    tool: str = "pip"
    command: str = "install"
    requirements: list[Arg] = field(default_factory=list)
    requirement_files: list[Arg] = field(default_factory=list)
    constraint_files: list[Arg] = field(default_factory=list)
    editables: list[Arg] = field(default_factory=list)
    upgrade: bool = False
    user: bool = False
    target: str | None = None
    prefix: str | None = None
    root: str | None = None
    platforms: list[str] = field(default_factory=list)
    python_version: str | None = None
    implementation: str | None = None
    abis: list[str] = field(default_factory=list)
    no_deps: bool = False
    no_build_isolation: bool = False
    unknown_options: list[Arg] = field(default_factory=list)


_PIP_GENERAL = OptionTable(
    table(
        [
            "--log",
            "--log-file",
            "--proxy",
            "--retries",
            "--timeout",
            "--exists-action",
            "--trusted-host",
            "--cert",
            "--client-cert",
            "--cache-dir",
            "--python",
            "--use-feature",
            "--use-deprecated",
            "--keyring-provider",
            "--resume-retries",
            "--local-log",
        ],
        [
            "-h/--help",
            "--debug",
            "--isolated",
            "--require-virtualenv",
            "-v/--verbose",
            "-V/--version",
            "-q/--quiet",
            "--no-input",
            "--no-cache-dir",
            "--disable-pip-version-check",
            "--no-color",
            "--no-python-version-warning",
        ],
    ),
    abbreviations=True,
)

_PIP_INSTALL = _PIP_GENERAL.merged(
    OptionTable(
        table(
            [
                "-r/--requirement",
                "-c/--constraint",
                "-e/--editable",
                "-t/--target",
                "--platform",
                "--python-version",
                "--implementation",
                "--abi",
                "--root",
                "--prefix",
                "--src",
                "--upgrade-strategy",
                "-C/--config-settings",
                "--global-option",
                "--install-option",
                "--build-option",
                "--no-binary",
                "--only-binary",
                "--progress-bar",
                "--root-user-action",
                "--report",
                "-i/--index-url",
                "--extra-index-url",
                "-f/--find-links",
                "--group",
                "--build-constraint",
                "-b/--build",
                "-d/--download",
            ],
            [
                "--no-deps",
                "--pre",
                "--dry-run",
                "--user",
                "-U/--upgrade",
                "--force-reinstall",
                "-I/--ignore-installed",
                "--ignore-requires-python",
                "--no-build-isolation",
                "--use-pep517",
                "--no-use-pep517",
                "--check-build-dependencies",
                "--break-system-packages",
                "--compile",
                "--no-compile",
                "--no-warn-script-location",
                "--no-warn-conflicts",
                "--prefer-binary",
                "--require-hashes",
                "--no-clean",
                "--no-index",
                "--egg",
            ],
        )
    )
)

_UV_GLOBAL = OptionTable(
    table(
        [
            "--cache-dir",
            "--directory",
            "--project",
            "--config-file",
            "--color",
            "--python-preference",
            "--allow-insecure-host/--trusted-host",
        ],
        [
            "-q/--quiet",
            "-v/--verbose",
            "-n/--no-cache",
            "--offline",
            "--native-tls",
            "--no-progress",
            "--preview",
            "--no-preview",
            "--no-config",
            "--managed-python",
            "--no-managed-python",
            "--no-python-downloads",
            "-h/--help",
            "-V/--version",
        ],
    ),
    short_equals=True,
)

_UV_PIP = _UV_GLOBAL.merged(
    OptionTable(
        table(
            [
                "-r/--requirements/--requirement",
                "-c/--constraints/--constraint",
                "--overrides/--override",
                "-b/--build-constraints/--build-constraint",
                "-e/--editable",
                "--extra",
                "--group",
                "-i/--index-url",
                "--extra-index-url",
                "--index",
                "--default-index",
                "-f/--find-links",
                "--index-strategy",
                "--keyring-provider",
                "-P/--upgrade-package",
                "--reinstall-package",
                "--no-build-isolation-package",
                "-C/--config-setting/--config-settings",
                "--config-settings-package",
                "--no-binary",
                "--only-binary",
                "-p/--python",
                "-t/--target",
                "--prefix",
                "--python-version",
                "--python-platform",
                "--resolution",
                "--prerelease",
                "--fork-strategy",
                "--exclude-newer",
                "--exclude-newer-package",
                "--link-mode",
                "--refresh-package",
                "--torch-backend",
                "--excludes",
            ],
            [
                "-U/--upgrade",
                "--reinstall",
                "--no-deps",
                "--system",
                "--no-system",
                "--break-system-packages",
                "--user",
                "--strict",
                "--dry-run",
                "--compile-bytecode",
                "--no-build",
                "--no-build-isolation",
                "--require-hashes",
                "--verify-hashes",
                "--no-verify-hashes",
                "--no-index",
                "--all-extras",
                "--no-sources",
                "--refresh",
                "--exact",
                "--allow-empty-requirements",
            ],
        ),
        short_equals=True,
    )
)

_PIP_PROGRAM = lazy_compile(r"pip(?:\d+(?:\.\d+)*)?")
_PYTHON_PROGRAM = lazy_compile(r"(?:python|pypy)(?:\d+(?:\.\d+)*)?[tdmu]*")
_PYTHON_VALUE_OPTIONS = frozenset("WX")


def pip_install_args(words: Sequence[str]) -> tuple[int, PipInstall] | None:
    """Recognise a package install in a whole command (``words[0]`` is the program).

    Returns the index of the first install argument (the word after
    ``install``/``sync``) and the parsed arguments, or None when the command is
    not a pip/uv install (``pipx install``, ``pip download``, ``python x.py``).
    """
    if not words:
        return None
    program = words[0].replace("\\", "/").rsplit("/", 1)[-1]
    # Asked of every command of every RUN: most are none of these.
    if not program.startswith(PROGRAM_STARTS):
        return None
    if _PIP_PROGRAM.fullmatch(program):
        return _pip(words, 1)
    if _PYTHON_PROGRAM.fullmatch(program):
        module = _python_module(words)
        if module is not None and module[0] == "pip":
            return _pip(words, module[1])
        return None
    if program == "uv":
        return _uv(words)
    return None


def parse_pip_install(words: Sequence[str]) -> PipInstall | None:
    """Like :func:`pip_install_args` without the start index."""
    found = pip_install_args(words)
    return found[1] if found else None


def _python_module(words: Sequence[str]) -> tuple[str, int] | None:
    # The module after "-m" (also "-mpip", "-Bm pip") and the index of the word
    # after it; None for a script, "-c" code or stdin.
    i = 1
    while i < len(words):
        word = words[i]
        if word.startswith("--"):
            i += 2 if word == "--check-hash-based-pycs" else 1
            continue
        if not word.startswith("-") or word == "-":
            return None
        for j, ch in enumerate(word[1:], start=1):
            if ch == "c":
                return None
            if ch == "m" or ch in _PYTHON_VALUE_OPTIONS:
                value = word[j + 1 :]
                if not value:
                    i += 1
                    if i >= len(words):
                        return None
                    value = words[i]
                if ch == "m":
                    return value, i + 1
                break
        i += 1
    return None


def _subcommand(words: Sequence[str], first: int, options: OptionTable) -> int | None:
    for item in scan(words, options, first):
        if item.dest == POSITIONAL:
            return item.word
    return None


def _pip(words: Sequence[str], first: int) -> tuple[int, PipInstall] | None:
    at = _subcommand(words, first, _PIP_GENERAL)
    if at is None or words[at] != "install":
        return None
    return at + 1, parse_install_arguments(words, at + 1)


def _uv(words: Sequence[str]) -> tuple[int, PipInstall] | None:
    at = _subcommand(words, 1, _UV_GLOBAL)
    if at is None or words[at] != "pip":
        return None
    at = _subcommand(words, at + 1, _UV_GLOBAL)
    if at is None or words[at] not in ("install", "sync"):
        return None
    return at + 1, parse_install_arguments(words, at + 1, tool="uv", command=words[at])


def parse_install_arguments(
    words: Sequence[str], first: int = 0, *, tool: str = "pip", command: str = "install"
) -> PipInstall:
    """Parse the install arguments ``words[first:]`` of ``tool`` (``"pip"`` or ``"uv"``)."""
    out = PipInstall(tool=tool, command=command)
    options = _UV_PIP if tool == "uv" else _PIP_INSTALL
    for item in scan(words, options, first):
        if item.dest == POSITIONAL:
            # "uv pip sync" takes requirement files, not requirements.
            target = out.requirement_files if command == "sync" else out.requirements
            target.append(Arg(words[item.word], item.word))
        elif item.dest == UNKNOWN:
            out.unknown_options.append(Arg(item.option, item.word, 0))
        elif item.value is None:
            _flag(out, item.dest)
        else:
            _value(out, item.dest, Arg(item.value, item.word, item.start))
    return out


def _flag(out: PipInstall, dest: str) -> None:
    if dest == "upgrade":
        out.upgrade = True
    elif dest == "user":
        out.user = True
    elif dest == "pre":
        out.pre = True
    elif dest == "prefer_binary":
        out.prefer_binary = True
    elif dest == "no_index":
        out.no_index = True
    elif dest == "no_deps":
        out.no_deps = True
    elif dest == "no_build_isolation":
        out.no_build_isolation = True


def _value(out: PipInstall, dest: str, arg: Arg) -> None:
    value = arg.text
    if dest in ("requirement", "requirements"):
        out.requirement_files.append(arg)
    elif dest in ("constraint", "constraints"):
        out.constraint_files.append(arg)
    elif dest == "editable":
        out.editables.append(arg)
    elif dest in ("index_url", "default_index"):
        out.index_url = value
    elif dest in ("extra_index_url", "index"):
        out.extra_index_urls.append(value)
    elif dest == "find_links":
        out.find_links.append(value)
    elif dest == "no_binary":
        out.add_no_binary(value)
    elif dest == "only_binary":
        out.add_only_binary(value)
    elif dest in ("trusted_host", "allow_insecure_host"):
        out.trusted_hosts.append(value)
    elif dest == "target":
        out.target = value
    elif dest == "prefix":
        out.prefix = value
    elif dest == "root":
        out.root = value
    elif dest in ("platform", "python_platform"):
        out.platforms.append(value)
    elif dest == "python_version":
        out.python_version = value
    elif dest == "implementation":
        out.implementation = value
    elif dest == "abi":
        out.abis.append(value)
    elif dest == "prerelease":
        out.pre = value == "allow"
