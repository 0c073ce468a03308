"""didChange -> publishDiagnostics latency of ``dockerarch lsp`` on a 300-line Dockerfile.

Starts the server over stdio as an editor would (push diagnostics, UTF-16),
makes ~200 one-line edits one after another, and prints p50/p95 of the time
from sending each change to receiving its diagnostics: what an editor waits
for, transport and scheduling included. It does that ``--repeat`` times, each
with a fresh server, and reports the medians: a neighbour's load spike on a
shared machine then moves one run, not the result.

The client is a few lines of JSON-RPC over pipes, not pygls: pygls' client
adds ~4.5 ms of its own to every round trip on this machine, which no editor
pays. For scale the bench also prints the round trip of a request the server
answers at once (an unknown method).

With ``--interval`` the edits come at a typing pace instead, and an edit
counts as answered by the first diagnostics for it or for a later text.

On Linux it also prints the server's CPU time per edit (from /proc), which
says how much of the latency is the server's own work rather than waiting to
be scheduled. On a shared machine both move with the neighbours' load (they
share the cores and caches), so compare runs made at the same time.

    python bench/lsp_latency.py [--edits 200] [--lines 300] [--interval MS] [--repeat 3]

``--instructions`` runs the server under valgrind's callgrind instead (edits back
to back) and prints the instructions it executes per edit: the same count on a
loaded machine as on an idle one, so two versions can be compared when the
neighbours make timings useless. Needs ``valgrind``; slow (~1 minute).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

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
TIMEOUT = 30.0


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


class Server:
    """``dockerarch lsp`` in a child process; a thread notes when each message arrives."""

    def __init__(self, wrapper: tuple[str, ...] = (), log: Any = subprocess.DEVNULL) -> None:
        self.proc = subprocess.Popen(
            [*wrapper, sys.executable, "-m", "dockerarch.lsp"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
        )
        self.diagnosed: dict[int, float] = {}
        self.answers: dict[int, dict[str, Any]] = {}
        self.changed = threading.Condition()
        self._ids = 0
        threading.Thread(target=self._read, daemon=True).start()

    def send(self, message: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        body = json.dumps({"jsonrpc": "2.0", **message}).encode()
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        self.proc.stdin.flush()

    def notify(self, method: str, params: dict[str, Any]) -> None:
        self.send({"method": method, "params": params})

    def request(self, method: str, params: dict[str, Any] | None) -> dict[str, Any]:
        self._ids += 1
        ident = self._ids
        self.send({"id": ident, "method": method, "params": params})
        with self.changed:
            if not self.changed.wait_for(lambda: ident in self.answers, TIMEOUT):
                raise TimeoutError(method)
            return self.answers.pop(ident)

    def wait_diagnosed(self, version: int) -> None:
        with self.changed:
            if not self.changed.wait_for(lambda: version in self.diagnosed, TIMEOUT):
                raise TimeoutError(f"no diagnostics for version {version}")

    def _read(self) -> None:
        out = self.proc.stdout
        assert out is not None
        while True:
            length = 0
            while (line := out.readline()) not in (b"\r\n", b""):
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            if not line:
                return
            message = json.loads(out.read(length))
            now = time.perf_counter()
            if "id" in message and "method" in message:
                # A request from the server (registrations, say): accept it.
                self.send({"id": message["id"], "result": None})
            with self.changed:
                if message.get("method") == "textDocument/publishDiagnostics":
                    version = message["params"].get("version")
                    if version is not None:
                        self.diagnosed.setdefault(version, now)
                elif "id" in message and "method" not in message:
                    self.answers[message["id"]] = message
                self.changed.notify_all()


def cpu_seconds(pid: int) -> float | None:
    """User plus system CPU time of process ``pid`` so far; None off Linux."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            fields = stat.read().rpartition(")")[2].split()
    except OSError:
        return None
    # utime and stime are fields 14 and 15 of proc(5), counted after the command name.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(
    edits: int, lines: int, interval: float, server: Server | None = None
) -> tuple[list[float], list[float], float | None]:
    server = server or Server()
    server.request("initialize", {"processId": None, "capabilities": {}})
    server.notify("initialized", {})
    uri = Path("/tmp/bench/Dockerfile").as_uri()
    text = dockerfile(lines)
    doc = {"uri": uri, "languageId": "dockerfile", "version": 1, "text": text}
    server.notify("textDocument/didOpen", {"textDocument": doc})
    server.wait_diagnosed(1)
    trips = []
    for _ in range(50):
        start = time.perf_counter()
        server.request("dockerarch/bench-nothing", {})
        trips.append(time.perf_counter() - start)
    sent: dict[int, float] = {}
    cpu_before = cpu_seconds(server.proc.pid)
    rows = text.splitlines(keepends=True)
    last = edits + 1
    for version in range(2, last + 1):
        row = version % len(rows)
        rows[row] = edited(rows[row], version)
        sent[version] = time.perf_counter()
        server.notify(
            "textDocument/didChange",
            {
                "textDocument": {"uri": uri, "version": version},
                "contentChanges": [{"text": "".join(rows)}],
            },
        )
        if interval:
            time.sleep(interval)
        else:
            server.wait_diagnosed(version)
    server.wait_diagnosed(last)
    cpu_after = cpu_seconds(server.proc.pid)
    cpu = None
    if cpu_before is not None and cpu_after is not None and edits:
        cpu = (cpu_after - cpu_before) / edits
    server.request("shutdown", None)
    server.notify("exit", {})
    server.proc.wait(TIMEOUT)
    # While typing, a change is answered by diagnostics of it or of a later text.
    arrived = server.diagnosed
    latencies = [
        min(t for w, t in arrived.items() if w >= version) - sent[version]
        for version in range(2, last + 1)
    ]
    return latencies, trips, cpu


def instructions(edits: int, lines: int) -> float:
    """Instructions per edit: a server's count with ``edits`` edits less one's with none."""
    import re
    import tempfile

    counts = []
    for n in (0, edits):
        with tempfile.TemporaryFile() as log:
            wrapper = ("valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null")
            run(n, lines, 0, Server(wrapper, log))
            log.seek(0)
            found = re.search(rb"Collected : (\d+)", log.read())
        if found is None:
            sys.exit("valgrind did not report a count")
        counts.append(int(found.group(1)))
    return (counts[1] - counts[0]) / edits


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, round(share * len(ordered)) - 1)] * 1000


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
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="runs, each with a fresh server; the medians of their p50s and p95s are the result",
    )
    parser.add_argument(
        "--instructions",
        action="store_true",
        help="count the server's instructions per edit under valgrind instead of timing",
    )
    args = parser.parse_args()
    size = f"{args.edits} edits of a {args.lines}-line Dockerfile"
    if args.instructions:
        per_edit = instructions(args.edits, args.lines)
        print(f"{size}, back to back: {per_edit / 1e6:.2f} M instructions per edit")
        return
    if args.interval:
        size += f", one every {args.interval:g} ms"
    p50s, p95s = [], []
    for n in range(1, args.repeat + 1):
        latencies, trips, cpu = run(args.edits, args.lines, args.interval / 1000)
        p50s.append(statistics.median(latencies) * 1000)
        p95s.append(_percentile(latencies, 0.95))
        line = f"run {n}: p50 {p50s[-1]:.1f} ms, p95 {p95s[-1]:.1f} ms"
        line += f", answered-at-once round trip {statistics.median(trips) * 1000:.2f} ms"
        if cpu is not None:
            line += f", server CPU per edit {cpu * 1000:.1f} ms"
        print(line)
    p50, p95 = statistics.median(p50s), statistics.median(p95s)
    print(f"{size}, median of {args.repeat} runs: p50 {p50:.1f} ms, p95 {p95:.1f} ms")


if __name__ == "__main__":
    main()
