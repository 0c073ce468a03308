"""The dockerarch language server: an adapter from LSP to :func:`engine.check_text`
(through :mod:`dockerarch.incremental`, which re-runs rules only where an edit can matter).

Diagnostics are pulled (``textDocument/diagnostic``) by clients that can,
and pushed to the others as soon as the server is free. Every analysis runs on one
worker thread so the event loop keeps reading messages; its result is cached
per document text, settings generation and version. A keystroke's check reuses
what unchanged stages found; when the client does not report file changes, the
document is checked whole again at the first pause in typing (build-context
files can change unseen), never on a keystroke. Nothing a client sends
or a rule raises stops the server: failures are logged to the client and
yield no diagnostics.
"""

from __future__ import annotations

import asyncio
import gc
import traceback
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any, TypeVar, cast

import cattrs
from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.protocol import default_converter
from pygls.uris import to_fs_path

from dockerarch import __version__
from dockerarch.config import ConfigError, FileConfig, Resolver, settings_for
from dockerarch.engine import Result, Settings, check_text
from dockerarch.fileio import FileError
from dockerarch.fixer import BOM, ContextFile, read_context_file
from dockerarch.incremental import IncrementalChecker
from dockerarch.lsp import actions
from dockerarch.lsp.convert import SOURCE, LspDiagnostic, to_lsp
from dockerarch.lsp.hover import hover_at
from dockerarch.lsp.online import ImageLookups
from dockerarch.lsp.positions import UTF16, DocumentIndex
from dockerarch.lsp.settings import EditorSettings, parse_editor_settings, section
from dockerarch.records import record
from dockerarch.syntax import parse

#: Larger documents are not analysed: no Dockerfile is this big, and the editor stays responsive.
MAX_DOCUMENT_CHARS = 2_000_000
#: How long to wait for a ``workspace/configuration`` answer before using what is known.
CONFIGURATION_TIMEOUT = 2.0
#: Without file-change reports from the client: a whole check at most this often,
#: once there has been no check for IDLE_SECONDS.
REFRESH_SECONDS = 2.0
IDLE_SECONDS = 0.5
#: Allocations between collections of the youngest generation, once the server is warm.
GC_THRESHOLD = 50_000

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Awaitable[Any]])


@record
class Analysis:
    """One document text checked with one settings generation."""

    generation: int
    version: int | None
    text: str
    index: DocumentIndex
    result: Result | None
    diagnostics: list[LspDiagnostic]

    @property
    def result_id(self) -> str:
        return f"{self.generation}:{self.version}:{hash(self.text) & 0xFFFFFFFF:x}"


@record
class _FileSettings:
    settings: Settings
    unsafe_fixes: bool


def _converter() -> cattrs.Converter:
    """pygls' converter, which sends diagnostics made in their JSON form (lsp/convert.py)
    as they are wherever a ``Diagnostic`` is expected."""
    converter: cattrs.Converter = default_converter()  # type: ignore[no-untyped-call]
    unstructure = converter.get_unstructure_hook(types.Diagnostic)
    converter.register_unstructure_hook(
        types.Diagnostic, lambda d: d if type(d) is dict else unstructure(d)
    )
    return converter


def _sent(diagnostics: list[LspDiagnostic]) -> list[types.Diagnostic]:
    # The typed fields of lsprotocol's messages hold them as they are; see _converter.
    return cast("list[types.Diagnostic]", diagnostics)


class DockerarchServer(LanguageServer):
    def __init__(self) -> None:
        # Full sync: pygls applies incremental edits on str.splitlines lines,
        # which break at characters LSP does not treat as line ends.
        super().__init__(
            "dockerarch",
            __version__,
            text_document_sync_kind=types.TextDocumentSyncKind.Full,
            converter_factory=_converter,
        )
        self.pull = False
        self.generation = 0
        self._initial = EditorSettings()
        self._pushed = EditorSettings()
        self._per_file: dict[str, EditorSettings] = {}
        self._resolver = Resolver()
        self._cache: dict[str, tuple[tuple[object, ...], asyncio.Future[Analysis]]] = {}
        #: Per document, the push that waits for its turn and has not read the text yet.
        self._waiting: dict[str, asyncio.Task[None]] = {}
        #: Every push in flight (the event loop keeps only weak references to tasks).
        self._tasks: set[asyncio.Task[None]] = set()
        #: One push checks at a time, so a waiting one reads the newest text.
        self._turn = asyncio.Lock()
        self._told: set[str] = set()
        self.images = ImageLookups()
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dockerarch-check")
        #: Per document: the settings generation and settings its checker was made for.
        self._checkers: dict[str, tuple[int, Settings, IncrementalChecker]] = {}
        self._warmed = False
        #: Whether the client reports changes to every file (didChangeWatchedFiles).
        self.watching = False
        #: Per document: the event-loop time of its last whole check, and the pending
        #: whole check for when typing pauses.
        self._whole_at: dict[str, float] = {}
        self._idle: dict[str, asyncio.TimerHandle] = {}

    # -- client facts ---------------------------------------------------------

    @property
    def encoding(self) -> str:
        enc = self.workspace.position_encoding
        return str(enc.value if isinstance(enc, types.PositionEncodingKind) else enc or UTF16)

    def client_has(self, *path: str) -> bool:
        node: object = self.client_capabilities
        for name in path:
            node = getattr(node, name, None)
            if node is None:
                return False
        return bool(node)

    # -- logging --------------------------------------------------------------

    def log(self, message: str, kind: types.MessageType = types.MessageType.Info) -> None:
        self.window_log_message(types.LogMessageParams(type=kind, message=f"dockerarch: {message}"))

    def warn(self, message: str) -> None:
        self.log(message, types.MessageType.Warning)

    def log_once(self, key: str, message: str) -> None:
        if key not in self._told:
            self._told.add(key)
            self.log(message)

    # -- settings -------------------------------------------------------------

    def set_initial(self, options: object) -> None:
        self._initial = parse_editor_settings(section(options), self.warn)

    def set_pushed(self, settings: object) -> None:
        if settings is not None:
            self._pushed = parse_editor_settings(section(settings), self.warn)

    async def file_settings(self, uri: str) -> _FileSettings:
        editor = self._per_file.get(uri)
        if editor is None:
            editor = self._per_file[uri] = await self._fetch_settings(uri)
        layered = editor.over(self._pushed.over(self._initial))
        path = _path_of(uri)
        config = self._project_config(path)
        settings = settings_for(config, layered.overrides(), path)
        return _FileSettings(settings, bool(layered.unsafe_fixes))

    def _project_config(self, path: Path | None) -> FileConfig:
        """The configuration file that governs ``path``; defaults when none or broken."""
        directory = path.parent if path else Path.cwd()
        if path is None:
            return FileConfig(None, directory)
        try:
            return self._resolver.for_file(path)
        except (ConfigError, FileError, OSError) as exc:
            self.log_once(f"config:{exc}", f"configuration ignored: {exc}")
            return FileConfig(None, directory)

    async def _fetch_settings(self, uri: str) -> EditorSettings:
        if not self.client_has("workspace", "configuration"):
            return EditorSettings()
        params = types.ConfigurationParams(
            items=[types.ConfigurationItem(scope_uri=uri, section="dockerarch")]
        )
        try:
            answer = await asyncio.wait_for(
                self.workspace_configuration_async(params), CONFIGURATION_TIMEOUT
            )
        except Exception as exc:
            self.warn(f"workspace/configuration failed: {exc!r}")
            return EditorSettings()
        return parse_editor_settings(answer[0] if answer else None, self.warn)

    def settings_changed(self) -> None:
        """Settings or files on disk changed: re-check every open document."""
        self.generation += 1
        self._resolver = Resolver()
        self._per_file.clear()
        self._cache.clear()
        self._checkers.clear()
        self.images.forget()
        if self.pull:
            if self.client_has("workspace", "diagnostics", "refresh_support"):
                self.workspace_diagnostic_refresh(None)
        else:
            for uri in list(self.workspace.text_documents):
                self.schedule(uri)

    # -- analysis -------------------------------------------------------------

    def context_file(self, path: Path) -> ContextFile:
        """A build-context file for a fix to edit, as rules saw it: on disk."""
        found = read_context_file(path)
        doc = self.workspace.text_documents.get(path.as_uri())
        if doc is not None and doc.source.removeprefix(BOM) != found.original:
            # The fix's offsets index the saved text, not the buffer.
            raise FileError(path, "has unsaved changes in the editor")
        return found

    def open_version(self, path: Path) -> int | None:
        doc = self.workspace.text_documents.get(path.as_uri())
        return doc.version if doc is not None else None

    def _read_text(self, path: Path) -> str | None:
        """A context file's text: the editor's buffer when open, else the disk."""
        doc = self.workspace.text_documents.get(path.as_uri()) if path.is_absolute() else None
        if doc is not None:
            return str(doc.source)
        try:
            return path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None

    async def analysis(self, uri: str) -> Analysis:
        doc = self.workspace.get_text_document(uri)
        try:
            text = doc.source
        except OSError as exc:
            self.warn(f"cannot read {uri}: {exc}")
            text = ""
        key = (self.generation, doc.version, text)
        cached = self._cache.get(uri)
        if cached is not None and cached[0] == key:
            # Shielded: a cancelled waiter (a superseded push) must not cancel the shared work.
            return await asyncio.shield(cached[1])
        future = asyncio.ensure_future(self._analyse(uri, self.generation, doc.version, text))
        self._cache[uri] = (key, future)
        future.add_done_callback(partial(self._drop_failed, uri))
        return await asyncio.shield(future)

    def _drop_failed(self, uri: str, future: asyncio.Future[Analysis]) -> None:
        """Keep no failure cached: the next request tries again."""
        failed = future.cancelled() or future.exception() is not None
        if failed and self._cache.get(uri, (None, None))[1] is future:
            del self._cache[uri]

    async def _analyse(self, uri: str, generation: int, version: int | None, text: str) -> Analysis:
        index = DocumentIndex(text, self.encoding)
        if len(text) > MAX_DOCUMENT_CHARS:
            self.log_once(
                f"huge:{uri}", f"{uri}: larger than {MAX_DOCUMENT_CHARS} characters, not checked"
            )
            return Analysis(generation, version, text, index, None, [])
        path = _path_of(uri)
        if path is None:
            self.log_once(f"untitled:{uri}", "untitled document: build-context rules skipped")
        fs = await self.file_settings(uri)
        checker = self._checker(uri, generation, fs.settings, path)
        result, error = await asyncio.get_running_loop().run_in_executor(
            self._worker, partial(_check, checker, text)
        )
        if not self.watching:
            self._plan_refresh(uri, checker.last)
        if result is None:
            self.log(f"analysis of {uri} failed:\n{error}", types.MessageType.Error)
            return Analysis(generation, version, text, index, None, [])
        for warning in result.warnings:
            self.log_once(f"warning:{uri}:{warning}", f"{uri}: {warning}")
        base = path.parent if path else None
        diagnostics = to_lsp(result, index, version, self._read_text, base)
        if not self._warmed:
            # The first check loaded what the server keeps for good (rules, knowledge
            # snapshots, pygls' types): out of the collector's reach, full collections
            # no longer walk it on some keystroke. (That check's own cycles stay too.)
            self._warmed = True
            gc.freeze()
            # Checks leave no cyclic garbage (tests/test_garbage.py) and pygls leaves
            # little, yet at the default threshold a young-generation collection ran on
            # nearly every edit (0.34 ms an edit on the bench file); now one runs every
            # few hundred edits.
            gc.set_threshold(GC_THRESHOLD, *gc.get_threshold()[1:])
        return Analysis(generation, version, text, index, result, diagnostics)

    def _checker(
        self, uri: str, generation: int, settings: Settings, path: Path | None
    ) -> IncrementalChecker:
        """The document's checker: it reuses what the last check found in stages an
        edit did not touch, as long as settings and files on disk stay the same."""
        found = self._checkers.get(uri)
        if found is None or found[0] != generation or found[1] != settings:
            checker = IncrementalChecker(
                settings, path=path, context_dir=path.parent if path else None
            )
            found = self._checkers[uri] = (generation, settings, checker)
        return found[2]

    def _plan_refresh(self, uri: str, last: str) -> None:
        """After a check that reused findings, plan a whole one for when typing pauses,
        at most every REFRESH_SECONDS: rules read build-context files, which can change
        without the client saying so."""
        loop = asyncio.get_running_loop()
        pending = self._idle.pop(uri, None)
        if pending is not None:
            pending.cancel()
        if last != "partial":
            self._whole_at[uri] = loop.time()
            return
        due = self._whole_at.get(uri, 0.0) + REFRESH_SECONDS - loop.time()
        self._idle[uri] = loop.call_later(max(IDLE_SECONDS, due), self._refresh, uri)

    def _refresh(self, uri: str) -> None:
        self._idle.pop(uri, None)
        found = self._checkers.get(uri)
        if found is None or uri not in self.workspace.text_documents:
            return
        found[2].expire()
        self._cache.pop(uri, None)
        if not self.pull:
            self.schedule(uri)
            return
        task = asyncio.ensure_future(self._analyse_idle(uri))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _analyse_idle(self, uri: str) -> None:
        """Pull mode: check now, while the user is idle, and ask a client that can to pull."""
        try:
            await self.analysis(uri)
        except Exception:
            self.log(f"checking {uri} failed:\n{traceback.format_exc()}", types.MessageType.Error)
            return
        if self.client_has("workspace", "diagnostics", "refresh_support"):
            self.workspace_diagnostic_refresh(None)

    def files_changed(self) -> None:
        """A file was saved: build-context rules may see something new on disk."""
        self._checkers.clear()

    async def run_checked(self, fn: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._worker, fn)

    def forget(self, uri: str) -> None:
        self._cache.pop(uri, None)
        self._checkers.pop(uri, None)
        self._per_file.pop(uri, None)
        self._whole_at.pop(uri, None)
        idle = self._idle.pop(uri, None)
        if idle is not None:
            idle.cancel()
        task = self._waiting.pop(uri, None)
        if task is not None:
            task.cancel()

    # -- push -----------------------------------------------------------------

    def schedule(self, uri: str) -> None:
        """Publish ``uri``'s diagnostics as soon as the worker is free.

        No debounce: an idle server checks a change at once. While a check
        runs, changes only mark the document for one more check, which reads
        the text as it is when its turn comes, so typing faster than the
        server checks costs one check per turn, not one per keystroke.
        """
        if self.pull or uri in self._waiting:
            return
        task = asyncio.ensure_future(self._publish(uri))
        self._waiting[uri] = task
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _publish(self, uri: str) -> None:
        try:
            async with self._turn:
                if self._waiting.get(uri) is asyncio.current_task():
                    del self._waiting[uri]
                analysis = await self.analysis(uri)
            doc = self.workspace.text_documents.get(uri)
            # Closed, or changed meanwhile: the newer schedule publishes.
            if doc is None or doc.version != analysis.version or doc.source != analysis.text:
                return
            self.text_document_publish_diagnostics(
                types.PublishDiagnosticsParams(
                    uri=uri, diagnostics=_sent(analysis.diagnostics), version=analysis.version
                )
            )
        except asyncio.CancelledError:
            raise
        except Exception:
            self.log(
                f"publishing diagnostics for {uri} failed:\n{traceback.format_exc()}",
                types.MessageType.Error,
            )
        finally:
            if self._waiting.get(uri) is asyncio.current_task():
                del self._waiting[uri]


def _path_of(uri: str) -> Path | None:
    """The file behind ``uri``; None for untitled buffers and other non-file schemes."""
    fs_path = to_fs_path(uri)
    return Path(fs_path) if fs_path else None


def _check(checker: IncrementalChecker, text: str) -> tuple[Result | None, str]:
    try:
        return checker.check(text), ""
    except Exception:
        return None, traceback.format_exc()


def _guard(default: Callable[[], object]) -> Callable[[F], F]:
    """Log a handler's exception to the client and answer ``default()`` instead."""

    def wrap(fn: F) -> F:
        async def run(ls: DockerarchServer, params: Any) -> Any:
            try:
                return await fn(ls, params)
            except Exception:
                ls.log(f"{fn.__name__} failed:\n{traceback.format_exc()}", types.MessageType.Error)
                return default()

        run.__name__ = fn.__name__
        return cast(F, run)

    return wrap


def create_server() -> DockerarchServer:
    server = DockerarchServer()

    @server.feature(types.INITIALIZE)
    @_guard(lambda: None)
    async def initialize(ls: DockerarchServer, params: types.InitializeParams) -> None:
        ls.pull = params.capabilities.text_document is not None and (
            params.capabilities.text_document.diagnostic is not None
        )
        ls.set_initial(params.initialization_options)

    @server.feature(types.INITIALIZED)
    @_guard(lambda: None)
    async def initialized(ls: DockerarchServer, params: types.InitializedParams) -> None:
        if ls.client_has("workspace", "did_change_watched_files", "dynamic_registration"):
            # Settings files and build-context files (requirements, lock files) change results.
            watch = types.DidChangeWatchedFilesRegistrationOptions(
                watchers=[types.FileSystemWatcher(glob_pattern="**/*")]
            )
            registration = types.Registration(
                id="dockerarch-watch",
                method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
                register_options=watch,
            )
            try:
                await ls.client_register_capability_async(
                    types.RegistrationParams(registrations=[registration])
                )
            except Exception as exc:
                ls.warn(f"could not watch files: {exc!r}")
            else:
                ls.watching = True

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    @_guard(lambda: None)
    async def did_open(ls: DockerarchServer, params: types.DidOpenTextDocumentParams) -> None:
        ls.schedule(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    @_guard(lambda: None)
    async def did_change(ls: DockerarchServer, params: types.DidChangeTextDocumentParams) -> None:
        ls.schedule(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    @_guard(lambda: None)
    async def did_save(ls: DockerarchServer, params: types.DidSaveTextDocumentParams) -> None:
        # Saving can change what build-context rules see on disk.
        ls.files_changed()
        ls.schedule(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    @_guard(lambda: None)
    async def did_close(ls: DockerarchServer, params: types.DidCloseTextDocumentParams) -> None:
        uri = params.text_document.uri
        ls.forget(uri)
        if not ls.pull:
            ls.text_document_publish_diagnostics(
                types.PublishDiagnosticsParams(uri=uri, diagnostics=[])
            )

    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    @_guard(lambda: None)
    async def did_change_configuration(
        ls: DockerarchServer, params: types.DidChangeConfigurationParams
    ) -> None:
        ls.set_pushed(params.settings)
        ls.settings_changed()

    @server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    @_guard(lambda: None)
    async def did_change_watched_files(
        ls: DockerarchServer, params: types.DidChangeWatchedFilesParams
    ) -> None:
        ls.settings_changed()

    @server.feature(
        types.TEXT_DOCUMENT_DIAGNOSTIC,
        types.DiagnosticOptions(
            identifier=SOURCE, inter_file_dependencies=True, workspace_diagnostics=False
        ),
    )
    @_guard(lambda: types.RelatedFullDocumentDiagnosticReport(items=[]))
    async def diagnostic(
        ls: DockerarchServer, params: types.DocumentDiagnosticParams
    ) -> types.DocumentDiagnosticReport:
        analysis = await ls.analysis(params.text_document.uri)
        if params.previous_result_id == analysis.result_id:
            return types.RelatedUnchangedDocumentDiagnosticReport(result_id=analysis.result_id)
        return types.RelatedFullDocumentDiagnosticReport(
            items=_sent(analysis.diagnostics), result_id=analysis.result_id
        )

    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(
            code_action_kinds=[types.CodeActionKind.QuickFix, actions.FIX_ALL_KIND],
        ),
    )
    @_guard(lambda: None)
    async def code_action(
        ls: DockerarchServer, params: types.CodeActionParams
    ) -> list[types.CodeAction] | None:
        return await _code_actions(ls, params)

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    @_guard(lambda: None)
    async def hover(ls: DockerarchServer, params: types.HoverParams) -> types.Hover | None:
        uri = params.text_document.uri
        text = ls.workspace.get_text_document(uri).source
        index = DocumentIndex(text, ls.encoding)
        tree = parse(text)
        shift = len(text) - len(tree.text)
        fs = await ls.file_settings(uri)
        cache_dir = fs.settings.cache_dir
        online = partial(ls.images.known, cache_dir=cache_dir) if fs.settings.online else None
        found = hover_at(tree, index.offset(params.position) - shift, fs.settings, online)
        if found is None:
            return None
        markdown, span = found
        return types.Hover(
            contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=markdown),
            range=index.range(span.moved(shift)),
        )

    return server


def _wants(only: list[str] | None, kind: str) -> bool:
    return only is None or any(kind == o or kind.startswith(f"{o}.") for o in only)


async def _code_actions(
    ls: DockerarchServer, params: types.CodeActionParams
) -> list[types.CodeAction]:
    uri = params.text_document.uri
    doc = ls.workspace.get_text_document(uri)
    text = doc.source
    target = actions.Target(
        uri=uri,
        version=doc.version,
        index=DocumentIndex(text, ls.encoding),
        path=_path_of(uri),
        document_changes=ls.client_has("workspace", "workspace_edit", "document_changes"),
        read_context=ls.context_file,
        version_of=ls.open_version,
    )
    only = (
        [str(k.value if isinstance(k, types.CodeActionKind) else k) for k in params.context.only]
        if params.context.only
        else None
    )
    out: list[types.CodeAction] = []
    if _wants(only, types.CodeActionKind.QuickFix.value):
        tree = parse(text)
        for diag in params.context.diagnostics:
            data = diag.data
            # Diagnostics of an older text point at the wrong characters; new ones are coming.
            if (
                diag.source != SOURCE
                or not isinstance(data, dict)
                or data.get("version") != doc.version
            ):
                continue
            fix = actions.quick_fix(target, tree, diag)
            if fix is not None:
                out.append(fix)
            span = data.get("span")
            if isinstance(span, list) and span and isinstance(span[0], int):
                ignore = actions.ignore_action(target, tree, diag, span[0])
                if ignore is not None:
                    out.append(ignore)
    if _wants(only, actions.FIX_ALL_KIND):
        fs = await ls.file_settings(uri)
        path = target.path

        def check(t: str) -> Result:
            return check_text(t, fs.settings, path=path, context_dir=target.context_dir)

        archs = list(dict.fromkeys(p.arch for p in fs.settings.platforms))
        fix_all, outcome = await ls.run_checked(
            partial(actions.fix_all, target, check, fs.unsafe_fixes, archs)
        )
        for err in outcome.errors:
            ls.warn(f"fix-all left {err.path} alone: {err.problem}")
        if not outcome.converged:
            ls.warn(f"{uri}: fixes still changed the file after {outcome.rounds} rounds")
        if fix_all is not None:
            out.append(fix_all)
    return out
