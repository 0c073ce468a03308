#!/usr/bin/env bash
# Fill .wheelhouse/ from the package index, for tests that must not touch the network:
#   .wheelhouse/*.whl          what `pip install .` needs in a fresh virtualenv on this
#                              machine (tests/test_precommit.py installs the hook offline);
#   .wheelhouse/targets/<tag>/ the runtime dependencies' wheels for one Python and platform
#                              (tests/test_wheels.py checks every requirement has one).
# Run from the project's virtualenv; safe to re-run.
set -euo pipefail
cd "$(dirname "$0")/.."

house=.wheelhouse
# Keep in step with tests/test_wheels.py (PYTHONS, PLATFORMS).
pythons=(3.10 3.11 3.12 3.13)
platforms=(manylinux2014_x86_64 manylinux2014_aarch64 musllinux_1_2_x86_64 musllinux_1_2_aarch64)

# The build backend is listed because pip's isolated build needs it and
# `pip download .` does not keep it.
python -m pip download -q -d "$house" . setuptools wheel

# Markers are dropped: pip judges them by the Python running it, not by --python-version,
# so `tomli; python_version < "3.11"` would never be fetched for 3.10. The test applies them.
mapfile -t requirements < <(
  python - <<'EOF'
import configparser

from packaging.requirements import Requirement

cfg = configparser.ConfigParser()
cfg.read("setup.cfg", encoding="utf-8")
for line in cfg["options"]["install_requires"].splitlines():
    if line.strip():
        requirement = Requirement(line)
        requirement.marker = None
        print(requirement)
EOF
)

for py in "${pythons[@]}"; do
  for platform in "${platforms[@]}"; do
    dir="$house/targets/cp${py/./}-$platform"
    rm -rf "$dir"
    mkdir -p "$dir"
    # A requirement without a wheel is the finding tests/test_wheels.py reports,
    # so record pip's complaint for it and go on.
    if python -m pip download -q --only-binary=:all: --implementation cp \
      --python-version "$py" --platform "$platform" -d "$dir" "${requirements[@]}" \
      2>"$dir/pip-errors.txt"; then
      rm "$dir/pip-errors.txt"
    else
      echo "wheelhouse: no complete set of wheels for cp$py $platform ($dir/pip-errors.txt)" >&2
    fi
  done
done
