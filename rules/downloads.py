"""Downloads whose URL or file name hard-codes the x86-64 architecture."""

from __future__ import annotations

import re
from collections.abc import Iterator

from dockerarch.diagnostics import Diagnostic, Severity
from dockerarch.engine import Context, rule
from dockerarch.lazyre import lazy_compile
from dockerarch.scriptcache import TextFlags, text_key
from dockerarch.shell.model import Command, Word
from dockerarch.syntax import Instruction

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockerarch_rules.download_scan import DownloadScan

_FETCHERS = frozenset({"curl", "wget", "aria2c", "axel", "fetch"})
_SHELLS = frozenset({"sh", "bash", "dash", "ash", "zsh", "ksh"})
_INSTALLER = lazy_compile(r"\.(?:sh|run|bin)$", re.IGNORECASE)
_PACKAGE = lazy_compile(r"\.(?:deb|rpm|apk|whl)$", re.IGNORECASE)
_PIP = lazy_compile(r"pip[0-9.]*\Z")
_PYTHON = lazy_compile(r"python[0-9.]*\Z")
# Short options that install a package file, possibly bundled with others (-i, -Uvh).
_DPKG_INSTALL = lazy_compile(r"-[a-zA-Z]*i")
_RPM_INSTALL = lazy_compile(r"-[a-zA-Z]*[iU][a-zA-Z]*")


def strip_quotes(text: str) -> str:
    return text.replace('"', "").replace("'", "")


def is_url(text: str) -> bool:
    return "://" in text or text.startswith("git@")


def command_name(word: Word) -> str | None:
    return None if word.value is None else word.value.rsplit("/", 1)[-1]


_INSTALL_VERBS = {
    "apt-get": "install",
    "apt": "install",
    "aptitude": "install",
    "yum": "install",
    "dnf": "install",
    "microdnf": "install",
    "tdnf": "install",
    "zypper": "install",
    "apk": "add",
}


_OPERAND_PROGRAMS = _FETCHERS | _SHELLS | {"git", "dpkg", "rpm", *_INSTALL_VERBS}


def operands(cmd: Command) -> list[tuple[Word, bool]]:
    """Words ``cmd`` fetches or installs; True where only a URL counts."""
    words = cmd.words
    # Command.program is command_name() of the name word, worked out when the command was made.
    name = cmd.program if cmd.name is not None else command_name(words[0]) if words else None
    if name is None:
        return []
    # The plain tests first: this is asked of every command of every RUN, and most
    # commands are neither a script run by its path nor a program named here.
    if "/" in (words[0].value or "") and _INSTALLER.search(name):
        return [(words[0], False)]  # ./Miniconda3-latest-Linux-x86_64.sh -b
    if not (
        name in _OPERAND_PROGRAMS
        or (name.startswith(("python", "pip")) and (_PYTHON.match(name) or _PIP.match(name)))
    ):
        return []
    args = words[1:]
    values = [w.value for w in args]
    plain = [w for w in args if not w.text.startswith("-")]
    if name in _FETCHERS:
        return [(w, True) for w in plain]
    if name == "git":
        return [(w, True) for w in plain[1:]] if values[:1] == ["clone"] else []
    if name in _SHELLS:
        return [(plain[0], False)] if plain and _INSTALLER.search(plain[0].text) else []
    if name == "dpkg":
        flags = [v for v in values if v and v.startswith("-")]
        if "--install" in flags or any(_DPKG_INSTALL.fullmatch(v) for v in flags):
            return [(w, False) for w in plain]
        return []
    if name == "rpm":
        flags = [v for v in values if v and v.startswith("-")]
        if {"--install", "--upgrade"} & set(flags) or any(_RPM_INSTALL.fullmatch(v) for v in flags):
            return [(w, False) for w in plain]
        return []
    if _PYTHON.match(name) and values[:2] == ["-m", "pip"]:
        name, plain = "pip", plain[1:]
    verb = "install" if _PIP.match(name) else _INSTALL_VERBS.get(name)
    if verb is None or verb not in values:
        return []
    return [
        (w, False)
        for w in plain
        if w.value != verb and (is_url(w.text) or _PACKAGE.search(strip_quotes(w.text)))
    ]


def _fetches(ctx: Context, ins: Instruction) -> bool:
    """Whether a command of the RUN ``ins`` names something to fetch or install."""
    # Asked of every RUN, and files repeat RUN lines: the answer reads the commands' words
    # only, so it is kept by what the scripts depend on.
    key = text_key(ins, ctx.tree.text, ctx.tree.escape)
    found = _fetching.get(key)
    if found is None:
        found = any(operands(c.effective()) for s in ctx.model.scripts(ins) for c in s.commands)
        _fetching.put(key, found)
    return found


_fetching = TextFlags()


@rule(
    code="DA301",
    scope="stage",
    name="hard-coded-arch-download",
    category="download",
    severity=Severity.ERROR,
    fixable=True,
)
def hard_coded_arch_download(ctx: Context) -> Iterator[Diagnostic]:
    """A download or package install names the x86-64 architecture outright.

    ## What it does
    Looks at what RUN fetches or installs (`curl`/`wget` URLs, `git clone`,
    `dpkg -i`, `apt-get install ./x.deb`, `rpm -i`, `apk add`, `pip install`
    of a URL or wheel, installer scripts such as
    `Miniconda3-latest-Linux-x86_64.sh`) and at ADD URLs, for an x86-64 spelling
    as a whole word of the URL or file name: `amd64`, `x86_64`, `x86-64`,
    `x64`, `linux64`. Files for another OS (`darwin-amd64`, `win64`, `.exe`)
    and checksum or signature files are not findings. A download is fine when a
    guard keeps it to amd64 (`case "$TARGETARCH" in amd64) ...`,
    `[ "$(uname -m)" = x86_64 ]`), when its name is built from the
    architecture (`$TARGETARCH`, `$dpkgArch`, `$(uname -m)`), when the stage
    is pinned to `--platform=linux/amd64`, or when no target platform but amd64
    builds the stage. A value written in an ARG or ENV (or a shell variable of
    the same RUN) and used by a download is reported where it is written, since
    that is where the fix goes; the message names the download's line.

    ## Why it matters
    The arm64 build downloads the x86-64 binary: it fails later with
    `exec format error`, or the image ships a program that cannot run. In a
    `--platform=$BUILDPLATFORM` stage the download runs on the build machine,
    so an arm64 build host (an Apple silicon laptop, a Graviton runner) gets
    an x86-64 build tool: a warning. Stages and files dedicated to amd64 by
    name (`AS build-amd64`, `Dockerfile.amd64`) only get an info finding.

    ## Example
    ```dockerfile
    FROM debian:bookworm-slim
    RUN curl -fsSL https://go.dev/dl/go1.22.0.linux-amd64.tar.gz | tar -C /usr/local -xz
    ```
    Use instead:
    ```dockerfile
    FROM debian:bookworm-slim
    ARG TARGETARCH
    RUN curl -fsSL https://go.dev/dl/go1.22.0.linux-${TARGETARCH}.tar.gz | tar -C /usr/local -xz
    ```

    ## Fix
    Where the project names its files with TARGETARCH's spellings (Go,
    kubectl, tini, CNI plugins, `.deb` packages), replaces the spelling with
    `${TARGETARCH}` and adds `ARG TARGETARCH` to the stage. Where it does not
    (Node.js `x64`, AWS CLI `x86_64`/`aarch64`, protoc `aarch_64`), a RUN gets
    a `case "$TARGETARCH" in amd64) NODE_ARCH=x64 ;; arm64) NODE_ARCH=arm64 ;;
    *) ... exit 1 ;; esac` as its first statement and uses `${NODE_ARCH}`; an
    ADD or an ENV value cannot run a shell, so the fix only offers per-arch
    stages. The file name repeated later in the RUN (`tar -xf`, `dpkg -i`,
    `bash x.sh`) and checksum/signature URLs are renamed with it. In a
    `--platform=$BUILDPLATFORM` stage the fix uses BUILDARCH. Where the
    spellings differ from TARGETARCH's, per-arch variants of the instruction
    are offered for `dockerarch fix --style stages`; a `${TARGETARCH}`
    substitution stays inline in every style.

    ## Fix safety
    Unsafe: it assumes the arm64 file exists under the name the project uses
    for its other releases. When the spelling is not known or not verified, or
    a checksum of the amd64 file is written into the Dockerfile, the fix is
    display-only; when the project publishes no arm64 build there is none.
    """
    scan: DownloadScan | None = None
    for stage in ctx.model.stages:
        for ins in stage.body:
            # A RUN without an operand to fetch or install has no site: the scan would find
            # nothing in it, so it is imported only for the instructions it can report on.
            if (ins.name == "RUN" and _fetches(ctx, ins)) or ins.name == "ADD":
                if scan is None:
                    from dockerarch_rules.download_scan import DownloadScan

                    scan = DownloadScan(ctx)
                found = scan.run(stage, ins) if ins.name == "RUN" else scan.add(stage, ins)
                if found is not None:
                    yield found
    if scan is not None:
        yield from scan.definitions()


RULES = (hard_coded_arch_download,)
