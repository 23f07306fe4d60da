#!/usr/bin/env python3
"""Make the OpenCV fixtures for Tests/EnvironmentTests/PreprocessingTests.swift.

Run once, commit the output; the Swift tests only read the files. Needs:

    pip install opencv-python-headless numpy

What it writes into Tests/EnvironmentTests/Fixtures/:

- `<case>.in.u8`   the input image, raw uint8, rows contiguous (H x W, or H x W x 3 for RGB)
- `<case>.out.u8`  what OpenCV made of it, raw uint8
- `resize_cases.json`  one object per case: name, op ("area" or "rgb2gray"), source and target
  shape [height, width], the OpenCV and NumPy versions used.

The "area" cases are `cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA)`, the call gymnasium's
AtariPreprocessing makes for 210x160 -> 84x84; "rgb2gray" is `cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)`.

Inputs are synthetic (seeded NumPy generator), plus two real ALE 0.12.1 grayscale screens (Pong,
Breakout) when they are already in the fixtures folder or when `--dump-screens` is given on a
machine with ALE installed (pkg-config `ale`) and ROMs in ARENA_ROM_DIR (default roms/): that
compiles a ten-line C++ program against libale that plays seeded random actions and saves the
screen.
"""
import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile

import cv2
import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "Tests" / "EnvironmentTests" / "Fixtures"

DUMP_CPP = r"""
#include <ale/ale_interface.hpp>
#include <cstdio>
#include <cstdlib>
#include <vector>
int main(int argc, char** argv) {
  ale::Logger::setMode(ale::Logger::Error);
  ale::ALEInterface ale;
  ale.setInt("random_seed", 7);
  ale.setFloat("repeat_action_probability", 0.0f);
  ale.loadROM(argv[1]);
  auto acts = ale.getMinimalActionSet();
  int frames = std::atoi(argv[3]);
  unsigned s = 12345;
  for (int i = 0; i < frames; i++) { s = s * 1103515245u + 12345u; ale.act(acts[(s >> 16) % acts.size()]); }
  std::vector<unsigned char> g(210 * 160);
  ale.getScreenGrayscale(g);
  FILE* f = std::fopen(argv[2], "wb"); std::fwrite(g.data(), 1, g.size(), f); std::fclose(f);
  return 0;
}
"""


def dump_screens():
    rom_dir = pathlib.Path(os.environ.get("ARENA_ROM_DIR", ROOT / "roms"))
    flags = subprocess.check_output(["pkg-config", "--cflags", "--libs", "ale"], text=True).split()
    with tempfile.TemporaryDirectory() as tmp:
        src = pathlib.Path(tmp) / "dump.cpp"
        exe = pathlib.Path(tmp) / "dump"
        src.write_text(DUMP_CPP)
        subprocess.check_call(["g++", "-std=c++17", "-O1", str(src), *flags, "-o", str(exe)])
        env = dict(os.environ, LD_LIBRARY_PATH="/usr/local/lib")
        for game, frames in (("pong", 400), ("breakout", 300)):
            target = OUT / f"{game}_screen.in.u8"
            subprocess.check_call([str(exe), str(rom_dir / f"{game}.bin"), str(target), str(frames)], env=env)
            print(f"wrote {target.relative_to(ROOT)}")


def synthetic_inputs(rng):
    h, w = 210, 160
    yy, xx = np.mgrid[0:h, 0:w]
    cases = {}
    cases["noise"] = rng.integers(0, 256, (h, w), dtype=np.uint8)
    # Diagonal ramps covering the full range, with a few hard steps.
    cases["gradient"] = ((xx * 255 // (w - 1) + yy * 3) % 256).astype(np.uint8)
    # Checkerboards of periods 1, 2, 3 and 5 pixels in four bands: the sharpest edges there are.
    board = np.zeros((h, w), np.uint8)
    for band, period in enumerate((1, 2, 3, 5)):
        rows = slice(band * h // 4, (band + 1) * h // 4)
        board[rows] = (((xx[rows] // period) + (yy[rows] // period)) % 2) * 255
    cases["checker"] = board
    # Saturated: almost everything at 255, so rounding near the top and the clamp matter.
    sat = np.full((h, w), 255, np.uint8)
    sat[rng.random((h, w)) < 0.05] = 254
    sat[::17, :] = 0
    cases["saturated"] = sat
    # Atari-like: flat background with rectangles ("sprites") of a few palette grey levels.
    sprites = np.full((h, w), 87, np.uint8)
    for _ in range(60):
        y0, x0 = rng.integers(0, h - 2), rng.integers(0, w - 2)
        sh, sw = rng.integers(1, 12), rng.integers(1, 9)
        sprites[y0:y0 + sh, x0:x0 + sw] = rng.choice([0, 74, 142, 147, 236, 255])
    cases["sprites"] = sprites
    return cases


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dump-screens", action="store_true",
                        help="regenerate the real ALE screens with libale (needs ALE and the ROMs)")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    if args.dump_screens:
        dump_screens()

    rng = np.random.default_rng(20240601)
    manifest = []

    def area(name, img, th, tw):
        out = cv2.resize(img, (tw, th), interpolation=cv2.INTER_AREA)
        assert out.shape == (th, tw) and out.dtype == np.uint8
        img.tofile(OUT / f"{name}.in.u8")
        out.tofile(OUT / f"{name}.out.u8")
        manifest.append({"name": name, "op": "area", "source": list(img.shape), "target": [th, tw]})

    for kind, img in synthetic_inputs(rng).items():
        area(f"{kind}_210x160_to_84x84", img, 84, 84)
    for game in ("pong", "breakout"):
        path = OUT / f"{game}_screen.in.u8"
        if path.exists():
            img = np.fromfile(path, np.uint8).reshape(210, 160)
            out = cv2.resize(img, (84, 84), interpolation=cv2.INTER_AREA)
            out.tofile(OUT / f"{game}_screen.out.u8")
            manifest.append({"name": f"{game}_screen", "op": "area", "source": [210, 160], "target": [84, 84]})
        else:
            print(f"note: no {path.name}; run with --dump-screens to add the real {game} screen", file=sys.stderr)

    # Other shapes: a fractional case with odd sizes, and the whole-number scales OpenCV treats
    # separately (2x2 blocks round half up, other blocks round half to even).
    area("noise_37x29_to_11x13", rng.integers(0, 256, (37, 29), dtype=np.uint8), 11, 13)
    area("noise_53x41_to_50x40", rng.integers(0, 256, (53, 41), dtype=np.uint8), 50, 40)
    area("noise_168x160_to_84x80", rng.integers(0, 256, (168, 160), dtype=np.uint8), 84, 80)
    area("noise_63x48_to_21x16", rng.integers(0, 256, (63, 48), dtype=np.uint8), 21, 16)
    area("noise_40x30_to_20x30", rng.integers(0, 256, (40, 30), dtype=np.uint8), 20, 30)
    area("noise_24x36_to_6x9", rng.integers(0, 256, (24, 36), dtype=np.uint8), 6, 9)
    # Ties: values whose block sums hit exact halves, to pin the rounding direction.
    ties = (rng.integers(0, 2, (40, 30), dtype=np.uint8) * 1 + 100).astype(np.uint8)
    area("ties_40x30_to_20x15", ties, 20, 15)
    area("ties_40x30_to_20x30", ties, 20, 30)

    rgb = rng.integers(0, 256, (21, 16, 3), dtype=np.uint8)
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    rgb.tofile(OUT / "rgb_21x16.in.u8")
    gray.tofile(OUT / "rgb_21x16.out.u8")
    manifest.append({"name": "rgb_21x16", "op": "rgb2gray", "source": [21, 16], "target": [21, 16]})

    doc = {"opencv": cv2.__version__, "numpy": np.__version__, "cases": manifest}
    (OUT / "resize_cases.json").write_text(json.dumps(doc, indent=1) + "\n")
    total = sum(p.stat().st_size for p in OUT.iterdir() if p.is_file())
    print(f"wrote {len(manifest)} cases to {OUT.relative_to(ROOT)} ({total // 1024} KB), OpenCV {cv2.__version__}")


if __name__ == "__main__":
    main()
