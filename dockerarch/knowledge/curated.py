"""The hand-curated knowledge files, read from their JSON twins.

``builddeps.toml``, ``distros.toml`` and ``npm_curated.toml`` are commented TOML,
written and reviewed by people. tomllib parses them in pure Python: ~8 ms for the
three, a tenth of a one-file run. scripts/build_curated_json.py writes each file's
parsed value next to it as ``<name>.json``, which the C json parser reads in
~0.2 ms; tests/test_curated_data.py fails when a twin no longer matches its TOML.
"""

from __future__ import annotations

import json

from dockerarch.knowledge import data

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

#: The curated files, by the name both forms share.
NAMES = ("builddeps", "distros", "npm_curated")


def load(name: str) -> dict[str, Any]:
    """The parsed content of ``data/<name>.toml``."""
    value: dict[str, Any] = json.loads(data.read_bytes(f"{name}.json"))
    return value
