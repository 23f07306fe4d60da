#!/usr/bin/env bash
# Every learning run behind the README's results and agents/README.md's recipe table, one after
# another (one `arena train` process per game and seed). The recipe is
# agents/candidates/cpu-fast-adam-eps1e-8-bf16.json (Adam epsilon 1e-8, bf16 GEMMs); on a CPU
# without AVX512_BF16 its fp32 twin agents/candidates/cpu-fast-adam-eps1e-8.json instead.
#   1. Pong, 2M frames (500k agent steps), seeds 1-2: bf16 against fp32 at equal budget (issue
#      "speed"; the fp32 runs of earlier sessions are in agents/README.md, step 5 repeats them);
#   2. Pong, 4M frames, seeds 1-3 in OUT/4m: copies of step 1's folders carried on (a larger
#      budget extends a run) and a third seed (issue "learning", point 3);
#   3. Breakout, 1M frames, seed 1, with and without FIRE after a lost life (issue "learning",
#      point 1): this version in OUT/breakout-fire, the version before nature2015 pressed it
#      (commit d00e601, built in OUT/.nofire, or ARENA_NOFIRE) in OUT/breakout-nofire;
#   4. Breakout, 10M frames, seed 1 in OUT/10m: a copy of step 3's FIRE run carried on;
#   5. the fp32 recipe on Pong at 2M frames, seeds 1-2 (the earlier sessions' folders were lost).
#
#   scripts/learning-runs.sh [OUT]      (default: results)
#
# Each run resumes from its newest checkpoint and finished runs are skipped, so running this
# again after an interruption (or on a fresh machine, from nothing) carries on where it stopped.
# Runs take one to several hours on 2 cores: start it with nohup, outside the work tree, e.g.
#   nohup nice -n 19 scripts/learning-runs.sh /work/runs/v4 >> /work/runs/v4.log 2>&1 &
# and follow it with `arena sweep status --out OUT` or `tensorboard --logdir OUT`.
# ARENA names another arena binary (a copy, so rebuilding the work tree does not touch the runs).
# A copy of a version before the reference table was compiled in needs the
# AtariArena_Environment.resources folder of its .build/release beside it.
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

fp32=agents/candidates/cpu-fast-adam-eps1e-8.json
if grep -qw avx512_bf16 /proc/cpuinfo; then
  recipe=agents/candidates/cpu-fast-adam-eps1e-8-bf16.json
else
  echo "learning-runs: this CPU has no AVX512_BF16; the fp32 recipe runs instead of the bf16 one" >&2
  recipe=$fp32
fi
name=$(basename "$recipe" .json)

# train BINARY GAME SEED FRAMES OUT: one run (resumes; a finished run with this budget is left as is).
train() {
  "$1" train --game "$2" --agent "$recipe" --seed "$3" --frames "$4" --out "$5" & child=$!
  wait "$child"; child=""
}
# carry FROM TO: TO starts as a copy of the finished run folder FROM (once), to be extended.
carry() {
  if [ ! -e "$2" ]; then
    [ -f "$1/evaluation.json" ] || { echo "learning-runs: $1 has not finished; cannot carry it on" >&2; exit 1; }
    mkdir -p "$(dirname "$2")" && cp -a "$1" "$2.partial" && rm -f "$2.partial/.lock" && mv "$2.partial" "$2"
  fi
}

# 1. Pong at 2M frames.
sweep --games pong --seeds 2 --agent "$recipe" --frames 2000000 --out "$out"

# 2. Pong at 4M frames: copies of the 2M folders carried on (`arena train` with a larger budget
#    extends a run), so that the 2M folders stay as they finished.
for seed in 1 2; do
  carry "$out/pong/$name/$seed" "$out/4m/pong/$name/$seed"
  train "$arena" pong "$seed" 4000000 "$out/4m"
done
train "$arena" pong 3 4000000 "$out/4m"

# 3. Breakout at 1M frames, FIRE after a lost life or not.
train "$arena" breakout 1 1000000 "$out/breakout-fire"
nofire="${ARENA_NOFIRE:-}"
if [ -z "$nofire" ]; then
  src="$out/.nofire"
  [ -d "$src" ] || git worktree add --detach "$src" d00e601
  (cd "$src" && swift build -c release --product arena >/dev/null)
  nofire="$src/.build/release/arena"
fi
train "$nofire" breakout 1 1000000 "$out/breakout-nofire"

# 4. Breakout at 10M frames.
carry "$out/breakout-fire/breakout/$name/1" "$out/10m/breakout/$name/1"
train "$arena" breakout 1 10000000 "$out/10m"

# 5. The fp32 recipe on Pong at 2M frames (skipped where it is the recipe: step 1 ran it).
[ "$recipe" = "$fp32" ] || sweep --games pong --seeds 2 --agent "$fp32" --frames 2000000 --out "$out"
