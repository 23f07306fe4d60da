#!/usr/bin/env bash
# What tests need beyond the build, checked (and installed when missing) before `make test`:
#   - Python packages that tests use to read our files with the tools users read them with:
#     tensorboard (event files), safetensors + numpy (weights). Installed only when missing.
#   - ffmpeg + ffprobe (replay videos) and libSDL2-2.0.so.0 (the replay window), installed by
#     `scripts/setup.sh ffmpeg libsdl2-2.0-0` just before this; checked here.
#   - root: the disk-full test mounts a tmpfs, and the Slurm test cluster's daemons run as root.
# A test whose component is missing is skipped with a sentence; under CI=true it fails instead
# (Tests/TestSupport/RequiresComponent.swift), so under CI=true this script fails as soon as a
# component is missing, with the same sentence, rather than leave it to the tests. One line a step.
set -euo pipefail
say() { printf 'setup: %s\n' "$*"; }
missing() {
  if [ "${CI:-}" = true ]; then printf 'setup: error: CI=true and %s\n' "$*" >&2; exit 1; fi
  printf 'setup: warning: %s; the tests that need it will be skipped\n' "$*"
}

PY=${PYTHON:-python3}
if "$PY" -c 'import tensorboard, safetensors, numpy' >/dev/null 2>&1; then
  say "Python test packages present (tensorboard, safetensors, numpy)"
else
  say "installing Python test packages from PyPI: tensorboard safetensors numpy"
  "$PY" -m pip install --quiet --disable-pip-version-check tensorboard safetensors numpy \
    || { echo "setup: error: could not pip-install tensorboard, safetensors and numpy; install them for $PY and retry" >&2; exit 1; }
fi

tools=()
for t in ffmpeg ffprobe; do command -v "$t" >/dev/null 2>&1 || tools+=("$t"); done
if [ "${#tools[@]}" -eq 0 ]; then say "ffmpeg and ffprobe present ($(command -v ffmpeg))"
else missing "${tools[*]} not on PATH (install the Debian package ffmpeg)"; fi

# The cache is read whole first: `ldconfig -p | grep -q` under pipefail fails whenever grep's early
# exit hands ldconfig a SIGPIPE (it did on a fresh machine with SDL2 installed).
ld_cache=$(/sbin/ldconfig -p 2>/dev/null || true)
if grep -q 'libSDL2-2\.0\.so\.0 ' <<<"$ld_cache"; then say "SDL2 present (libSDL2-2.0.so.0)"
else missing "libSDL2-2.0.so.0 is not installed (install the Debian package libsdl2-2.0-0)"; fi

if [ "$(id -u)" -eq 0 ]; then say "running as root (tmpfs mount test, Slurm test cluster)"
else missing "not running as root: the tmpfs disk-full test cannot mount and the Slurm test cluster cannot start (run make test as root)"; fi
