"""Run-time immutability of records, and Hypothesis profiles.

Tests keep their own bounded example counts by default; the ``long`` profile is
for a local soak of the robustness properties:

    python -m pytest tests/test_robustness.py --hypothesis-profile=long

It is registered here, before pytest-hypothesis reads ``--hypothesis-profile``.
"""

from __future__ import annotations

import os

# Records (dockerarch/records.py) are frozen for type checkers only, unless this is
# set: the suite, and every dockerarch process it starts, enforces it at run time.
# Set before anything imports dockerarch.
os.environ["DOCKERARCH_FROZEN"] = "1"

from hypothesis import HealthCheck, settings

LONG = "long"

settings.register_profile(
    LONG,
    max_examples=3000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
