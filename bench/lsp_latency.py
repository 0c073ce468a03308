"""didChange -> publishDiagnostics latency of ``dockerarch lsp`` on a 300-line Dockerfile.

Starts the server over stdio as an editor would (push diagnostics, UTF-16),
makes ~200 one-line edits one after another, and prints p50/p95 of the time
from sending each change to receiving its diagnostics: what an editor waits
for, transport and scheduling included.

With ``--interval`` the edits come at a typing pace instead, and an edit
counts as answered by the first diagnostics for it or for a later text.

    python bench/lsp_latency.py [--edits 200] [--lines 300] [--interval MS]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

from lsprotocol import types
from pygls.lsp.client import LanguageClient

STAGE = """\
FROM --platform=linux/amd64 python:3.12-slim AS build{n}
ARG TARGETARCH
ENV PIP_NO_CACHE_DIR=1
RUN apt-get update && apt-get install -y --no-install-recommends gcc libpq-dev \\
    && rm -rf /var/lib/apt/lists/*
RUN curl -fsSL https://example.com/tool-linux-amd64.tar.gz | tar -xz -C /usr/local/bin
RUN pip install numpy==1.26.4 pandas==2.2.2
COPY . /src/{n}
WORKDIR /src/{n}
RUN GOARCH=amd64 go build -o /out/app{n} ./cmd/app
"""


def dockerfile(lines: int) -> str:
    out: list[str] = []
    n = 0
    while len(out) < lines:
        out.extend(STAGE.format(n=n).splitlines())
        n += 1
    return "\n".join(out[:lines]) + "\n"


def edited(row: str, version: int) -> str:
    """``row`` after one more keystroke-sized change, keeping a line continuation."""
    row = row.replace("amd64", "arm64", 1).rstrip("\n")
    continued = row.endswith("\\")
    row = row.removesuffix("\\").rstrip()
    return f"{row} e{version}" + (" \\\n" if continued else "\n")


async def run(edits: int, lines: int, interval: float) -> list[float]:
    client = LanguageClient("dockerarch-bench", "0")
    arrived: dict[int, float] = {}
    got = asyncio.Event()

    # pygls' client decorator and stop() carry no type hints.
    @client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)  # type: ignore[untyped-decorator]
    def published(params: types.PublishDiagnosticsParams) -> None:
        if params.version is not None:
            arrived[params.version] = time.perf_counter()
            got.set()

    await client.start_io(sys.executable, "-m", "dockerarch.lsp")
    await client.initialize_async(
        types.InitializeParams(capabilities=types.ClientCapabilities(), process_id=None)
    )
    client.initialized(types.InitializedParams())
    uri = Path("/tmp/bench/Dockerfile").as_uri()
    text = dockerfile(lines)
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri=uri, language_id="dockerfile", version=1, text=text
            )
        )
    )
    await _wait(got, arrived, 1)
    sent: dict[int, float] = {}
    rows = text.splitlines(keepends=True)
    last = edits + 1
    for version in range(2, last + 1):
        row = version % len(rows)
        rows[row] = edited(rows[row], version)
        sent[version] = time.perf_counter()
        client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
                content_changes=[types.TextDocumentContentChangeWholeDocument(text="".join(rows))],
            )
        )
        if interval:
            await asyncio.sleep(interval)
        else:
            await _wait(got, arrived, version)
    await _wait(got, arrived, last)
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()  # type: ignore[no-untyped-call]
    # While typing, a change is answered by diagnostics of it or of a later text.
    return [
        min(t for w, t in arrived.items() if w >= version) - sent[version]
        for version in range(2, last + 1)
    ]


async def _wait(got: asyncio.Event, arrived: dict[int, float], version: int) -> None:
    while version not in arrived:
        got.clear()
        await asyncio.wait_for(got.wait(), timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edits", type=int, default=200)
    parser.add_argument("--lines", type=int, default=300)
    parser.add_argument(
        "--interval",
        type=float,
        default=0,
        metavar="MS",
        help="send a change every MS milliseconds, as typing does, instead of after each answer",
    )
    args = parser.parse_args()
    latencies = sorted(asyncio.run(run(args.edits, args.lines, args.interval / 1000)))
    p50 = statistics.median(latencies) * 1000
    p95 = latencies[max(0, round(0.95 * len(latencies)) - 1)] * 1000
    size = f"{len(latencies)} edits of a {args.lines}-line Dockerfile"
    if args.interval:
        size += f", one every {args.interval:g} ms"
    print(f"{size}: p50 {p50:.1f} ms, p95 {p95:.1f} ms")


if __name__ == "__main__":
    main()
