"""What a start of the command imports, and the lazy readers that keep it small.

Start-up time is most of a small file's check, so these tests pin down which
modules a run must not import; each runs the command in a fresh interpreter.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from dockerarch.knowledge import data

DOCKERFILE = "FROM python:3.12-slim\nRUN pip install numpy==1.26.4\nCOPY . /app\n"
#: Needed only for other subcommands or for an INI configuration file.
NEVER = (
    "configparser",
    "pkgutil",
    "dockerarch.commands.fix",
    "dockerarch.commands.report",
    "dockerarch.commands.merge",
    "dockerarch.lsp",
    # argparse's stock help formatter imports it for the terminal width (cli._HelpFormatter).
    "shutil",
)
#: What a cache hit needs neither: parsing, rules, knowledge, the registry scan, a
#: configuration file reader, writing files.
NOT_ON_A_HIT = (
    "difflib",
    "tempfile",
    "tomllib",
    "packaging",
    "tree_sitter",
    "importlib.metadata",
    "dockerarch.knowledge.pypi",
    "dockerarch.pysites",
    "dockerarch.shell",
    "dockerarch_rules",
)
#: What a ``pip install NAME==VERSION`` with no npm command and no download needs not: the
#: npm readers and knowledge, the requirement/project/lock file readers and their parsers,
#: the download scan and its naming table.
NOT_FOR_A_PINNED_PIP_INSTALL = (
    "dockerarch.npmsources",
    "dockerarch.knowledge.npm",
    "dockerarch.pysources.reqfile",
    "dockerarch.pysources.project",
    "dockerarch.pysources.poetry",
    "dockerarch.pysources.lockgraph",
    "dockerarch.pysources.locate",
    "dockerarch.pysources.setuppy",
    "libcst",
    "yaml",
    "dockerarch_rules.download_scan",
    "dockerarch.knowledge.archnames",
    # The knowledge files are read from the data directory directly, the official images
    # from a file of zlib members rather than a zip.
    "importlib.resources",
    "zipfile",
    # The snapshots inflate one member each (dockerarch/knowledge/members.py), dates stay
    # text, and the vendor image list is parsed only for a vendor's image.
    "gzip",
    "datetime",
    "csv",
    # Rule docs are dedented by engine._dedented.
    "textwrap",
    # A plain requirement, its pin and the release it pins are read by
    # dockerarch.pyspecifiers (tests/test_packaging_equivalence.py), not packaging.
    "packaging",
    # The parser cache's lock and per-thread parsers come from _thread.
    "threading",
    # Type hints are for type checkers: the names a module annotates with are imported
    # under TYPE_CHECKING (typing was 5% of a one-file check), and try/except stands for
    # contextlib.suppress. importlib.util would bring contextlib back (shell.parse._binding).
    "typing",
    "contextlib",
    "importlib.util",
)


def _loaded(project: Path, *args: str) -> set[str]:
    """The modules ``dockerarch check ARGS`` loads in a fresh interpreter; not those the
    interpreter's start loaded (an editable install's finder imports importlib.util)."""
    script = (
        "import sys\n"
        "before = set(sys.modules)\n"
        "from dockerarch import cli\n"
        f"cli.main(['check', '--isolated', '--exit-zero', *{list(args)!r}])\n"
        "print(' '.join(sorted(set(sys.modules) - before)))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], cwd=project, capture_output=True, text=True, check=True
    )
    return set(proc.stdout.split("\n")[-2].split())


def _imported(loaded: set[str], names: tuple[str, ...]) -> list[str]:
    return sorted(m for m in loaded if m in names or m.startswith(tuple(f"{n}." for n in names)))


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "Dockerfile").write_text(DOCKERFILE)
    return tmp_path


def test_a_check_imports_only_its_own_command(project: Path) -> None:
    loaded = _loaded(project, "--no-cache", "Dockerfile")
    assert "dockerarch_rules" in loaded  # it did check
    assert _imported(loaded, NEVER) == []


def test_a_pinned_pip_install_imports_no_readers_it_does_not_use(project: Path) -> None:
    loaded = _loaded(project, "--no-cache", "Dockerfile")
    assert "dockerarch.pysites" in loaded  # the pip install was read
    assert "dockerarch_rules.downloads" in loaded
    assert _imported(loaded, NOT_FOR_A_PINNED_PIP_INSTALL) == []
    # The bash grammar and tree-sitter are loaded without their packages' __init__, which
    # import importlib.resources for highlight queries we never read, and typing.
    assert {"tree_sitter_bash._binding", "tree_sitter._binding"} <= loaded
    assert "tree_sitter_bash" not in loaded
    assert "tree_sitter" not in loaded


def test_a_download_imports_the_download_scan(tmp_path: Path) -> None:
    text = "FROM debian\nRUN curl -fsSLO https://go.dev/dl/go1.22.0.linux-amd64.tar.gz\n"
    (tmp_path / "Dockerfile").write_text(text)
    loaded = _loaded(tmp_path, "--no-cache", "Dockerfile")
    assert {"dockerarch_rules.download_scan", "dockerarch.knowledge.archnames"} <= loaded


def test_a_cache_hit_imports_no_checking_code(project: Path) -> None:
    assert "dockerarch_rules" in _loaded(project, "Dockerfile")  # a miss checks
    # A miss in a cache that knows the rule packs (a hook run on an edited file) stores its
    # result without tempfile, random or shutil (fileio.make_temp).
    with (project / "Dockerfile").open("a") as f:
        f.write("# edited\n")
    missed = _loaded(project, "Dockerfile")
    assert "dockerarch_rules" in missed
    assert _imported(missed, ("tempfile", "random", "shutil")) == []
    loaded = _loaded(project, "Dockerfile")
    assert _imported(loaded, NOT_ON_A_HIT + NEVER) == []


def test_help_lists_every_command() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "dockerarch", "--help"], capture_output=True, text=True, check=True
    )
    from dockerarch import commands

    listed = [line.split()[0] for line in proc.stdout.splitlines() if line.startswith("    ")]
    assert listed == commands.names()
    assert "fix" in listed


def test_knowledge_files_read_through_importlib_resources_when_not_on_disk(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    direct = data.read_bytes("vendor_images.tsv")
    monkeypatch.setattr(data, "_DIR", str(tmp_path / "absent"))
    assert data.read_bytes("vendor_images.tsv") == direct
    assert data.read_text("vendor_images.tsv") == direct.decode("utf-8")


def test_the_bindings_are_the_ones_the_packages_give() -> None:
    import tree_sitter as ts
    import tree_sitter_bash

    from dockerarch.shell import parse

    runtime = parse._binding("tree_sitter")
    assert runtime.Parser is ts.Parser
    assert runtime.__spec__.name == "tree_sitter._binding"
    bash = parse._binding("tree_sitter_bash")
    assert ts.Language(bash.language()) == ts.Language(tree_sitter_bash.language())
    assert isinstance(parse.bash_parser(), ts.Parser)


def test_the_bindings_load_in_a_fresh_interpreter_before_their_packages() -> None:
    script = (
        "import sys\n"
        "from dockerarch.shell import parse\n"
        "tree = parse.bash_parser().parse(b'echo hi')\n"
        "assert 'tree_sitter' not in sys.modules\n"
        "import tree_sitter, tree_sitter_bash\n"
        "assert isinstance(tree, tree_sitter.Tree)\n"
        "assert tree_sitter.Parser is parse._binding('tree_sitter').Parser\n"
        "print(tree.root_node.type)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["program"]


def test_a_binding_that_is_not_an_extension_module_is_imported_plainly(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from dockerarch.shell import parse

    package = tmp_path / "fake_grammar"
    package.mkdir()
    (package / "__init__.py").write_text("INIT_RAN = True\n")
    (package / "_binding.py").write_text("def language():\n    return 42\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in ("fake_grammar", "fake_grammar._binding"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    binding = parse._binding("fake_grammar")
    assert binding.language() == 42
    assert sys.modules["fake_grammar"].INIT_RAN


def test_every_name_a_module_exports_exists_at_run_time() -> None:
    # Names defined under TYPE_CHECKING (Protocols, aliases) exist for type checkers only:
    # ``__all__`` must not promise them to ``from module import *``.
    from tests.modules import every_module

    missing = [
        f"{module.__name__}.{name}"
        for module in every_module()
        for name in getattr(module, "__all__", ())
        if not hasattr(module, name)
    ]
    assert missing == []
