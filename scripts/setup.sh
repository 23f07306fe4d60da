#!/usr/bin/env bash
# One-time, idempotent set-up of everything AtariArena needs on Debian 12:
#   1. Debian packages (compilers' helpers, OpenBLAS, oneDNN, zlib),
#   2. ALE 0.12.1 built from the ale-py source distribution on PyPI (sha256-pinned),
#      installed under /usr/local with a pkg-config file,
#   3. the ROMs from that same distribution, copied into roms/ and checked against roms/MD5SUMS.
# Prints one line per step. Safe to run again: every step is skipped when already done.
set -euo pipefail

ALE_VERSION=0.12.1
ALE_SDIST_SHA256=c503d574c5983e1063b451201ccb779d935919c0f6bf116fb0f4f8aa4c86d249
PREFIX=${ALE_PREFIX:-/usr/local}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${ARENA_CACHE:-$ROOT/.cache}
ROM_DIR=${ARENA_ROM_DIR:-$ROOT/roms}
PACKAGES=(cmake ninja-build g++ zlib1g-dev libssl-dev pkg-config libopenblas-dev libdnnl-dev python3-pip)
[ "$#" -gt 0 ] && PACKAGES+=("$@")   # extra Debian packages asked for by the caller

say() { printf 'setup: %s\n' "$*"; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else die "need root to run '$*'; run this as root or install sudo, or install by hand: ${PACKAGES[*]}"; fi
}

# 1. Debian packages --------------------------------------------------------------------------
missing=()
for p in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)   # whole, not piped into grep -q (pipefail)
  [[ "$status" == *"install ok installed"* ]] || missing+=("$p")
done
if [ "${#missing[@]}" -eq 0 ]; then
  say "Debian packages present (${PACKAGES[*]})"
else
  command -v apt-get >/dev/null 2>&1 || die "apt-get not found; install these packages by hand: ${missing[*]}"
  say "installing Debian packages: ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# 2. ALE --------------------------------------------------------------------------------------
sdist="$CACHE/ale_py-$ALE_VERSION.tar.gz"
src="$CACHE/ale_py-$ALE_VERSION"
fetch_sdist() {
  if [ -f "$sdist" ] && echo "$ALE_SDIST_SHA256  $sdist" | sha256sum -c --status; then return; fi
  say "downloading ale-py $ALE_VERSION source distribution from PyPI"
  mkdir -p "$CACHE"
  rm -f "$sdist"
  python3 -m pip download --quiet --no-deps --no-binary ale-py --no-build-isolation \
    "ale-py==$ALE_VERSION" -d "$CACHE" >/dev/null 2>&1 \
    || python3 -m pip download --quiet --no-deps --no-binary ale-py "ale-py==$ALE_VERSION" -d "$CACHE" \
    || die "could not download ale-py==$ALE_VERSION from PyPI; check the network and retry"
  if ! echo "$ALE_SDIST_SHA256  $sdist" | sha256sum -c --status; then
    got=$(sha256sum "$sdist" | cut -d' ' -f1)
    rm -f "$sdist"
    die "ale-py $ALE_VERSION sdist has sha256 $got, expected $ALE_SDIST_SHA256; refusing to build it"
  fi
  say "ale-py sdist sha256 verified"
}
unpack_sdist() {
  [ -d "$src/src/ale" ] && return
  fetch_sdist
  rm -rf "$src.tmp" && mkdir -p "$src.tmp"
  tar -xzf "$sdist" -C "$src.tmp" --strip-components=1
  mv "$src.tmp" "$src"
}

installed=$(sed -n 's/^#define ALE_VERSION "\(.*\)"$/\1/p' "$PREFIX/include/ale/version.hpp" 2>/dev/null || true)
if [ "$installed" = "$ALE_VERSION" ] && [ -f "$PREFIX/lib/libale.so" ]; then
  say "ALE $ALE_VERSION already installed in $PREFIX"
else
  unpack_sdist
  say "building ALE $ALE_VERSION with CMake (Release, C++ library only)"
  build="$CACHE/ale-build"
  rm -rf "$build"
  cmake -S "$src" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=ON \
    -DBUILD_CPP_LIB=ON -DBUILD_PYTHON_LIB=OFF -DSDL_SUPPORT=OFF -DBUILD_VECTOR_LIB=OFF \
    -DCMAKE_INSTALL_PREFIX="$PREFIX" -DCMAKE_INSTALL_LIBDIR=lib >"$CACHE/ale-cmake.log" 2>&1 \
    || die "CMake configure of ALE failed; see $CACHE/ale-cmake.log"
  cmake --build "$build" -j "$(nproc)" >"$CACHE/ale-build.log" 2>&1 \
    || die "ALE build failed; see $CACHE/ale-build.log"
  say "installing ALE into $PREFIX"
  as_root cmake --install "$build" >"$CACHE/ale-install.log" 2>&1 || die "ALE install failed; see $CACHE/ale-install.log"
  as_root ldconfig
  as_root ldconfig
  say "ALE $ALE_VERSION installed ($PREFIX/lib/libale.so)"
fi

# ALE installs only a CMake config; SwiftPM reads pkg-config. Rewritten whenever it differs.
pc_text="prefix=$PREFIX
libdir=\${prefix}/lib
includedir=\${prefix}/include

Name: ale
Description: The Arcade Learning Environment (C++ library), built by AtariArena's setup
Version: $ALE_VERSION
Libs: -L\${libdir} -lale
Cflags: -I\${includedir} -I\${includedir}/ale"
if [ "$(cat "$PREFIX/lib/pkgconfig/ale.pc" 2>/dev/null)" != "$pc_text" ]; then
  as_root mkdir -p "$PREFIX/lib/pkgconfig"
  printf '%s\n' "$pc_text" | as_root tee "$PREFIX/lib/pkgconfig/ale.pc" >/dev/null
  as_root ldconfig
  say "wrote $PREFIX/lib/pkgconfig/ale.pc"
fi

# 3. ROMs -------------------------------------------------------------------------------------
manifest="$ROOT/roms/MD5SUMS"
roms_ok() {
  [ -d "$ROM_DIR" ] || return 1
  (cd "$ROM_DIR" && md5sum --status -c "$manifest" 2>/dev/null)
}
if roms_ok; then
  say "ROMs present and verified in $ROM_DIR ($(wc -l <"$manifest") files)"
else
  unpack_sdist
  mkdir -p "$ROM_DIR"
  cp "$src"/src/ale/python/roms/*.bin "$ROM_DIR"/
  if [ -f "$manifest" ]; then
    (cd "$ROM_DIR" && md5sum --quiet -c "$manifest") || die "ROMs in $ROM_DIR do not match $manifest"
    say "ROMs copied into $ROM_DIR and verified ($(wc -l <"$manifest") files)"
  else
    (cd "$ROM_DIR" && md5sum -- *.bin) >"$manifest"
    say "ROMs copied into $ROM_DIR; wrote new manifest $manifest"
  fi
fi
