"""A deterministic set of Dockerfiles for the benchmarks.

The files are assembled from the idioms real Dockerfiles are made of
(multi-stage Go and Node builds, apt/apk/yum installs, pip and npm installs,
downloads with and without arch guards, long continuation chains, heredocs),
so every linter measured does the work it does on real files. The same seed
gives the same files, byte for byte, so runs on different days compare.

    python bench/corpus.py OUT_DIR [--files 400] [--seed 1]
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

BASES = (
    "ubuntu:22.04",
    "debian:bookworm-slim",
    "python:3.12-slim",
    "python:3.11",
    "node:20-bookworm",
    "node:20-alpine",
    "golang:1.22",
    "alpine:3.19",
    "amazonlinux:2023",
    "eclipse-temurin:21-jre",
    "mcr.microsoft.com/mssql/server:2019-latest",
    "registry.example.com/team/base:1.4",
)
APT = ("curl", "ca-certificates", "git", "gcc", "libpq-dev", "make", "unzip", "jq", "tini")
PIP = ("numpy==1.26.4", "pandas==2.2.2", "requests==2.31.0", "psycopg2==2.9.9", "lxml==5.1.0")
NPM = ("express@4.18.2", "sharp@0.33.0", "canvas@2.11.2", "bcrypt@5.1.1", "lodash@4.17.21")


def _apt(rng: random.Random) -> str:
    packages = " \\\n        ".join(rng.sample(APT, rng.randint(2, len(APT))))
    return (
        "RUN set -eux; \\\n    apt-get update; \\\n"
        f"    apt-get install -y --no-install-recommends \\\n        {packages} \\\n"
        "    ; \\\n    rm -rf /var/lib/apt/lists/*\n"
    )


def _guarded_download(rng: random.Random) -> str:
    version = f"1.{rng.randint(18, 23)}.{rng.randint(0, 9)}"
    return (
        "RUN set -eux; \\\n"
        '    dpkgArch="$(dpkg --print-architecture)"; \\\n'
        '    case "${dpkgArch##*-}" in \\\n'
        "        amd64) arch='amd64' ;; \\\n"
        "        arm64) arch='arm64' ;; \\\n"
        '        *) echo >&2 "unsupported architecture: $dpkgArch"; exit 1 ;; \\\n'
        "    esac; \\\n"
        f'    curl -fsSL "https://go.dev/dl/go{version}.linux-$arch.tar.gz" -o go.tgz; \\\n'
        "    tar -C /usr/local -xzf go.tgz; \\\n    rm go.tgz\n"
    )


def _pinned_download(rng: random.Random) -> str:
    tool = rng.choice(("kubectl", "helm", "node", "awscli"))
    return {
        "kubectl": "RUN curl -fsSLo /usr/local/bin/kubectl "
        "https://dl.k8s.io/release/v1.29.0/bin/linux/amd64/kubectl\n",
        "helm": "RUN curl -fsSL https://get.helm.sh/helm-v3.14.0-linux-amd64.tar.gz | tar -xz\n",
        "node": "RUN curl -fsSL https://nodejs.org/dist/v20.11.0/node-v20.11.0-linux-x64.tar.xz "
        "| tar -xJ -C /usr/local --strip-components=1\n",
        "awscli": 'RUN curl "https://awscli.amazonaws.com/awscli-exe-linux-x86_64.zip" '
        "-o awscliv2.zip && unzip awscliv2.zip && ./aws/install\n",
    }[tool]


def _pip(rng: random.Random) -> str:
    return "RUN pip install --no-cache-dir " + " ".join(rng.sample(PIP, rng.randint(1, 3))) + "\n"


def _npm(rng: random.Random) -> str:
    return "RUN npm install " + " ".join(rng.sample(NPM, rng.randint(1, 2))) + "\n"


def _heredoc(rng: random.Random) -> str:
    lines = "\n".join(f'echo "step {i}"' for i in range(rng.randint(2, 8)))
    return f"RUN <<EOF\nset -e\n{lines}\nEOF\n"


def _go_build(rng: random.Random) -> str:
    cross = rng.random() < 0.5
    platform = "--platform=$BUILDPLATFORM " if cross else ""
    goarch = "GOARCH=$TARGETARCH" if cross else "GOARCH=amd64"
    return (
        f"FROM {platform}golang:1.22 AS build\n"
        "ARG TARGETARCH\n"
        "WORKDIR /src\n"
        "COPY go.mod go.sum ./\n"
        "RUN go mod download\n"
        "COPY . .\n"
        f"RUN CGO_ENABLED=0 {goarch} go build -o /out/app ./cmd/app\n\n"
    )


STEPS = (_apt, _guarded_download, _pinned_download, _pip, _npm, _heredoc)


def dockerfile(rng: random.Random) -> str:
    out: list[str] = ["# syntax=docker/dockerfile:1\n"] if rng.random() < 0.3 else []
    if rng.random() < 0.4:
        out.append(_go_build(rng))
    out.append(f"FROM {rng.choice(BASES)}\n")
    if rng.random() < 0.3:
        out.append("ARG TARGETARCH\n")
    out.append("ENV LANG=C.UTF-8\n")
    for _ in range(rng.randint(2, 9)):
        out.append(rng.choice(STEPS)(rng))
    out.append("WORKDIR /app\nCOPY . .\n")
    if any(s.startswith("FROM") and "AS build" in s for s in out):
        out.append("COPY --from=build /out/app /usr/local/bin/app\n")
    out.append('CMD ["/usr/local/bin/app"]\n')
    return "".join(out)


def generate(out_dir: Path, files: int = 400, seed: int = 1) -> list[Path]:
    """Write ``files`` Dockerfiles into ``out_dir`` (created); return their paths."""
    rng = random.Random(seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for n in range(files):
        path = out_dir / f"{n:04d}.Dockerfile"
        path.write_text(dockerfile(rng), encoding="utf-8")
        paths.append(path)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--files", type=int, default=400)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    paths = generate(args.out_dir, args.files, args.seed)
    print(f"wrote {len(paths)} Dockerfiles to {args.out_dir}")


if __name__ == "__main__":
    main()
