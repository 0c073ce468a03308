"""dockerarch's built-in rule pack.

Installed as ``dockerarch_rules`` and registered under the
``dockerarch.rules`` entry-point group, like any third-party pack: a pack is
a module exposing ``RULES``, a sequence of :class:`dockerarch.engine.Rule`.
"""

from __future__ import annotations

from dockerarch_rules import (
    base_images,
    build_deps,
    compilers,
    downloads,
    emulation,
    foreign_arch,
    golang,
    npm,
    paths,
    platform_args,
    platform_flags,
    probes,
    python,
    suppression,
    syntax,
)

RULES = (
    *syntax.RULES,
    *platform_flags.RULES,
    *platform_args.RULES,
    *base_images.RULES,
    *paths.RULES,
    *downloads.RULES,
    *golang.RULES,
    *compilers.RULES,
    *foreign_arch.RULES,
    *probes.RULES,
    *python.RULES,
    *npm.RULES,
    *build_deps.RULES,
    *emulation.RULES,
    *suppression.RULES,
)
