"""didChange -> publishDiagnostics latency of ``dockerarch lsp`` on a 300-line Dockerfile.

Starts the server over stdio as an editor would (push diagnostics, UTF-16),
makes ~200 one-line edits one after another, and prints p50/p95 of the time
from sending each change to receiving its diagnostics. The server's debounce
(75 ms) is part of what an editor waits for, so it is included.

    python bench/lsp_latency.py [--edits 200] [--lines 300]
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


async def run(edits: int, lines: int) -> list[float]:
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
    latencies = []
    rows = text.splitlines(keepends=True)
    for version in range(2, edits + 2):
        row = version % len(rows)
        rows[row] = rows[row].replace("amd64", "arm64", 1) if "amd64" in rows[row] else rows[row]
        rows[row] = rows[row].rstrip("\n") + f" # edit {version}\n"
        sent = time.perf_counter()
        client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
                content_changes=[types.TextDocumentContentChangeWholeDocument(text="".join(rows))],
            )
        )
        await _wait(got, arrived, version)
        latencies.append(arrived[version] - sent)
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()  # type: ignore[no-untyped-call]
    return latencies


async def _wait(got: asyncio.Event, arrived: dict[int, float], version: int) -> None:
    while version not in arrived:
        got.clear()
        await asyncio.wait_for(got.wait(), timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edits", type=int, default=200)
    parser.add_argument("--lines", type=int, default=300)
    args = parser.parse_args()
    latencies = sorted(asyncio.run(run(args.edits, args.lines)))
    p50 = statistics.median(latencies) * 1000
    p95 = latencies[max(0, round(0.95 * len(latencies)) - 1)] * 1000
    size = f"{len(latencies)} edits of a {args.lines}-line Dockerfile"
    print(f"{size}: p50 {p50:.1f} ms, p95 {p95:.1f} ms")


if __name__ == "__main__":
    main()
