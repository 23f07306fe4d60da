#!/usr/bin/env bash
# Every learning run behind the README's results and agents/README.md's recipe table, one after
# another through `arena sweep` (one `arena train` process per game and seed):
#   1. the Adam-epsilon A/B on Pong (issue "learning", point 1): agents/candidates/cpu-fast-adam-eps1e-8.json
#      against agents/dqn-cpu-fast.json, 500k agent steps (2M frames) per seed, seeds 1-2;
#   2. the same candidate with bf16 GEMMs (precision bf16, issue "speed"): fp32 against bf16 at the
#      same budget and seeds, skipped with a note on a CPU without AVX512_BF16;
#   3. the bf16 candidate extended to 4M frames (the same run folders go on; a larger budget
#      extends a run) with a third seed: the recipe runs of issue "learning", point 3;
#   4. the runs of the earlier sessions: Pong with dqn-cpu-fast at 4M frames (seeds 1-2), then
#      Breakout at 10M frames (seed 1).
#
#   scripts/learning-runs.sh [OUT]      (default: results)
#
# Each run resumes from its newest checkpoint and finished runs are skipped, so running this
# again after an interruption (or on a fresh machine, from nothing) carries on where it stopped.
# Runs take one to several hours on 2 cores: start it with nohup, outside the work tree, e.g.
#   nohup nice -n 19 scripts/learning-runs.sh /work/runs/v3 > /work/runs/v3.log 2>&1 &
# and follow it with `arena sweep status --out OUT` or `tensorboard --logdir OUT`.
# ARENA names another arena binary (a copy, so rebuilding the work tree does not touch the runs);
# copy the AtariArena_Environment.resources folder from .build/release beside it, or the copy
# stops at its first game lookup (it finds the bundle beside itself or at its build path).
# To stop everything with checkpoints: `kill -TERM <this script's pid>`; it passes the signal to
# the running sweep, which lets its run checkpoint, and then stops without starting the next one.
# Edit this file only while it is not running (bash reads a running script as it goes), or
# replace it with a new file (mv), which the running copy does not see.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-results}"
arena="${ARENA:-.build/release/arena}"
[ -x "$arena" ] || { echo "learning-runs: build first (make build)" >&2; exit 1; }

child=""
stop() {
  echo "learning-runs: stopping; the running sweep writes its checkpoint" >&2
  [ -n "$child" ] && kill -TERM "$child" 2>/dev/null && wait "$child" || true
  exit 130
}
trap stop TERM INT
sweep() { "$arena" sweep "$@" & child=$!; wait "$child"; child=""; }

# The bf16 runs first (the fp32 ones of step 1 were measured by an earlier session and are
# bit-reproducible: two lanes give the same bits in this version).
if grep -qw avx512_bf16 /proc/cpuinfo; then
  sweep --games pong --seeds 2 --agent agents/candidates/cpu-fast-adam-eps1e-8-bf16.json --frames 2000000 --out "$out"
  # 4M frames in $out/4m: seeds 1-2 carry on from a copy of their finished 2M-frame folder (a
  # sweep skips a complete folder, `arena train` with a larger budget extends it), seed 3 starts.
  bf16=agents/candidates/cpu-fast-adam-eps1e-8-bf16.json
  for seed in 1 2; do
    from="$out/pong/cpu-fast-adam-eps1e-8-bf16/$seed" to="$out/4m/pong/cpu-fast-adam-eps1e-8-bf16/$seed"
    if [ ! -e "$to" ]; then
      mkdir -p "$(dirname "$to")" && cp -a "$from" "$to.partial" && rm -f "$to.partial/.lock" && mv "$to.partial" "$to"
    fi
    "$arena" train --game pong --agent "$bf16" --seed "$seed" --frames 4000000 --out "$out/4m" & child=$!
    wait "$child"; child=""
  done
  sweep --games pong --seeds 3 --agent "$bf16" --frames 4000000 --out "$out/4m"
else
  echo "learning-runs: this CPU has no AVX512_BF16; the bf16 candidate runs are skipped" >&2
fi
sweep --games pong --seeds 2 --agent agents/candidates/cpu-fast-adam-eps1e-8.json --frames 2000000 --out "$out"
sweep --games pong --seeds 2 --agent agents/dqn-cpu-fast.json --frames 4000000 --out "$out"
sweep --games breakout --seeds 1 --agent agents/dqn-cpu-fast.json --frames 10000000 --out "$out"
