#!/usr/bin/env bash
# Python packages that tests use to read our files with the tools users read them with:
# tensorboard (event files), safetensors + numpy (weights). Installed only when missing.
set -euo pipefail
say() { printf 'setup: %s\n' "$*"; }
PY=${PYTHON:-python3}
if "$PY" -c 'import tensorboard, safetensors, numpy' >/dev/null 2>&1; then
  say "Python test packages present (tensorboard, safetensors, numpy)"
else
  say "installing Python test packages from PyPI: tensorboard safetensors numpy"
  "$PY" -m pip install --quiet --disable-pip-version-check tensorboard safetensors numpy \
    || { echo "setup: error: could not pip-install tensorboard, safetensors and numpy; install them for $PY and retry" >&2; exit 1; }
fi
