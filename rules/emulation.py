"""Rules about CI files that build images for several platforms on one machine.

These rules read CI files, not Dockerfiles: ``dockerarch check`` runs them
through :func:`dockerarch.workflows.check_ci_file` on GitHub Actions
workflows, ``.gitlab-ci.yml`` and bake files. Their ``check`` on a
Dockerfile reports nothing; the rule object carries the code, the docs and
the category so that ``dockerarch rules``, ``explain`` and the selectors
know them.
"""

from __future__ import annotations

from collections.abc import Iterator

from dockerarch.diagnostics import Diagnostic, Severity
from dockerarch.engine import Context, rule


@rule(
    code="DA801",
    name="emulated-build-compiles",
    category="emulation",
    severity=Severity.WARNING,
    fixable=True,
)
def emulated_build_compiles(ctx: Context) -> Iterator[Diagnostic]:
    """A CI job builds a platform under QEMU emulation, and the Dockerfile compiles for it.

    ## What it does
    Reads GitHub Actions workflows (`.github/workflows/*.yml`), `.gitlab-ci.yml`
    and `docker-bake.hcl` / `docker-bake.json` for multi-platform builds:
    `docker/build-push-action` with `platforms:`, `docker buildx build
    --platform ...` in scripts, bake targets with `platforms`. The runner's
    architecture comes from `runs-on` (GitHub) or `tags` (GitLab; untagged jobs
    run on amd64); bake files are assumed to be built on one amd64 machine.
    Each platform the runner cannot run natively is built under QEMU.

    The build's Dockerfile (from `context`/`file`, `-f` and the context
    argument, or the target's `context`/`dockerfile`) is then checked for
    compiling steps that run for an emulated platform: `./configure`, `make`,
    `cmake`, `ninja`, `meson`, `cargo build`, `go build` (cgo or not), a C/C++
    compiler or `rustc`, `mvn`/`gradle`, `dotnet build`, `bazel build`, and the
    source builds DA501, DA502, DA601 and DA701 find (pip without a wheel,
    npm addons without a prebuilt binary). Stages built `FROM
    --platform=$BUILDPLATFORM` run natively and cross-compile: they are fine.
    Package installs (`apt-get install`) are not counted.

    ## Why it matters
    QEMU user-mode emulation runs every arm64 instruction in software on an
    amd64 runner: compiling takes many times longer (an hour instead of
    minutes is common for Rust, C++ or large Go builds), and emulation bugs
    occasionally make a compiler crash or a test fail only there. Hosted arm64
    runners (`ubuntu-24.04-arm`) build the same image natively.

    ## Example
    ```yaml
    jobs:
      docker:
        runs-on: ubuntu-latest
        steps:
          - uses: docker/setup-qemu-action@v3
          - uses: docker/build-push-action@v6
            with:
              platforms: linux/amd64,linux/arm64
              push: true
              tags: ghcr.io/acme/app:latest
    ```
    building this Dockerfile, whose `make` runs under QEMU for linux/arm64:
    ```dockerfile
    FROM debian:bookworm AS build
    RUN apt-get update && apt-get install -y build-essential
    COPY . /src
    RUN make -C /src
    ```
    A Dockerfile that cross-compiles on the runner's own platform is fine:
    ```dockerfile
    FROM --platform=$BUILDPLATFORM golang:1.22 AS build
    ARG TARGETOS TARGETARCH
    COPY . /src
    RUN cd /src && GOOS=$TARGETOS GOARCH=$TARGETARCH go build -o /out/app .

    FROM alpine:3.20
    COPY --from=build /out/app /usr/local/bin/app
    ```

    ## Fix
    Build each platform on a runner of its own architecture: a matrix over
    `ubuntu-24.04` and `ubuntu-24.04-arm`, each job pushing its image by
    digest (`outputs: type=image,push-by-digest=true,name-canonical=true,push=true`)
    and uploading the digest, and a final job that downloads the digests and
    creates the tags with `docker buildx imagetools create`. Or keep one
    runner and cross-compile: `FROM --platform=$BUILDPLATFORM` for the
    compiling stage, with `GOARCH=$TARGETARCH` or a cross toolchain.

    ## Fix safety
    Unsafe, and offered only for `docker/build-push-action` in a job on a
    hosted Ubuntu runner without a matrix: the rewrite changes the runners,
    how images are pushed and adds a job; the other steps of the job still
    run once per platform. Elsewhere (run steps, GitLab, bake) the help is
    display-only.
    """
    return iter(())


RULES = (emulated_build_compiles,)
