"""Base images that a target platform cannot pull, and arch-pinned references."""

from __future__ import annotations

from collections.abc import Iterator

from dockerarch.diagnostics import Applicability, Diagnostic, Edit, Fix, Severity
from dockerarch.engine import Context, rule
from dockerarch.imageref import ImageRef, arch_pinned, multiarch_equivalent, parse_image_ref
from dockerarch.knowledge.images import ImagePlatforms, image_platforms
from dockerarch.model import arch_in_name


def _platforms(ctx: Context, ref: ImageRef) -> ImagePlatforms | None:
    known = image_platforms(ref)
    if known is not None or not ctx.settings.online:
        return known
    from dockerarch.knowledge.registry import RegistryClient, RegistryError

    client = ctx.cache.get("registry")
    if not isinstance(client, RegistryClient):
        client = ctx.cache["registry"] = RegistryClient(cache_dir=ctx.settings.cache_dir)
    failed = ctx.cache.setdefault("registry-failed", set())
    assert isinstance(failed, set)
    if str(ref) in failed:
        return None
    try:
        return client.platforms(ref)
    except RegistryError as e:
        # Once per image: every platform view asks, and a dead registry costs a timeout each time.
        failed.add(str(ref))
        ctx.warnings.append(f"{ref}: platform check skipped, registry did not answer: {e}")
        return None


def _per_arch_file(ctx: Context) -> str | None:
    if ctx.path is None:
        return None
    return arch_in_name(ctx.path.name) or arch_in_name(ctx.path.parent.name)


@rule(
    code="DA201",
    scope="stage",
    name="base-image-missing-platform",
    category="base-image",
    severity=Severity.ERROR,
)
def base_image_missing_platform(ctx: Context) -> Iterator[Diagnostic]:
    """The base image is not published for a target platform.

    ## What it does
    Resolves each FROM (after ARG expansion, per target platform) and looks the
    image up: the offline snapshot of every Docker official image tag, a curated
    list of vendor images, and with `--online` the registry itself. Unknown
    images give no finding offline.

    ## Why it matters
    `docker build --platform linux/arm64` fails with "no match for platform in
    manifest", or worse, runs an amd64 image under emulation.

    ## Example
    ```dockerfile
    FROM mcr.microsoft.com/mssql/server:2019-latest
    ```

    ## Fix
    Use a tag published for every target (a newer release, another base), or
    select a per-platform base with `FROM image-${TARGETARCH}` stages.

    ## Fix safety
    No automatic fix: the replacement image is a product decision.
    """
    for stage in ctx.model.stages:
        if stage.image is None:
            continue
        missing: list[str] = []
        seen: ImagePlatforms | None = None
        ref_text = ""
        for view in ctx.views():
            if not view.reaches(stage) or view.parent(stage) is not None:
                continue
            base = view.base(stage)
            if base is None or base.lower() == "scratch":
                continue
            ref = parse_image_ref(base)
            if ref is None or arch_pinned(ref) is not None:
                continue  # DA202 explains arch-pinned references better
            known = _platforms(ctx, ref)
            if known is None:
                continue
            platform = view.platform
            if (
                stage.platform is not None
                and stage.platform.value
                and "$" not in stage.platform.value
            ):
                continue  # DA101's business: the stage does not follow the target
            if not known.supports(platform):
                missing.append(str(platform))
                seen, ref_text = known, base
        if not missing or seen is None:
            continue
        severity = None
        if stage.arch_by_name or _per_arch_file(ctx):
            severity = Severity.INFO
        published = ", ".join(sorted(seen.platforms)) or "no platform"
        yield ctx.diagnostic(
            stage.image.span,
            f"{ref_text} is not published for {', '.join(missing)} (published: {published}; "
            f"{seen.source.split(';')[0]})",
            platforms=missing,
            severity=severity,
        )


@rule(
    code="DA202",
    scope="stage",
    name="arch-pinned-image",
    category="base-image",
    severity=Severity.WARNING,
    fixable=True,
)
def arch_pinned_image(ctx: Context) -> Iterator[Diagnostic]:
    """The image reference names one architecture (`amd64/ubuntu`, `:1.2-amd64`).

    ## What it does
    Finds Docker Hub arch namespaces (`amd64/`, `arm64v8/`, ...) and arch words in
    tags in stages that are not per-arch by name.

    ## Why it matters
    Every target platform gets that architecture's image: arm64 builds run amd64
    binaries under emulation, or fail.

    ## Example
    ```dockerfile
    FROM amd64/ubuntu:22.04
    ```
    Use instead:
    ```dockerfile
    FROM ubuntu:22.04
    ```

    ## Fix
    Use the multi-arch reference; for a tag suffix, find the multi-arch tag.

    ## Fix safety
    Unsafe: the multi-arch image may differ from the per-arch one you tested.
    """
    for stage in ctx.model.stages:
        if stage.image is None or stage.arch_by_name:
            continue
        view = ctx.views()[0]
        if view.parent(stage) is not None:
            continue
        base = view.base(stage)
        ref = parse_image_ref(base) if base else None
        if ref is None:
            continue
        arch = arch_pinned(ref)
        if arch is None:
            continue
        fix = None
        equivalent = multiarch_equivalent(ref)
        if equivalent and base == stage.image.text:
            fix = Fix(
                f"Use {equivalent}", (Edit(stage.image.span, equivalent),), Applicability.UNSAFE
            )
        yield ctx.diagnostic(
            stage.image.span,
            f"{stage.image.text} is the {arch} image; other platforms get {arch} binaries",
            fix=fix,
            severity=Severity.INFO if _per_arch_file(ctx) else None,
        )


RULES = (base_image_missing_platform, arch_pinned_image)
