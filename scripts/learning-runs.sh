#!/usr/bin/env bash
# Every learning run behind the README's results and agents/README.md's recipe table, resumed or
# started from nothing (one `arena train` process per game and seed; a finished run is skipped,
# an interrupted one resumes from its newest checkpoint, a missing one starts).
#
# The recipe under measurement is agents/candidates/cpu-fast-decay100k.json: the earlier
# candidate (Adam epsilon 1e-8, bf16 GEMMs) with epsilon decaying over 100k agent steps instead
# of 250k and the update's convolutions through oneDNN. Where the CPU has no AVX512_BF16 the
# presets' fp32 twins run (the same files with precision fp32, written into OUT/presets/).
#   1. Pong, 2M frames (500k agent steps), seeds 1 and 2 side by side (one thread each: on 2
#      cores one process acts while the other updates; two one-thread runs finish sooner than
#      the same two runs one after the other with two threads);
#   2. Pong seed 3 at 2M frames, and every seed whose 2M-frame final evaluation is short of +18
#      carried on to 4M frames (the issue's budget) in a copy of its folder, OUT/pong-4m, two
#      runs at a time, one thread each;
#   3. Breakout, 10M frames (2.5M agent steps), seed 1 (issue "learning", point 4), with
#      agents/candidates/cpu-fast-decay250k.json: the same recipe with epsilon decaying over
#      250k agent steps, a tenth of the run as in Dopamine's and CleanRL's schedules (100k is
#      tuned to Pong's 500k-step runs).
#
#   scripts/learning-runs.sh [OUT]      (default: results)
#
# Runs take about an hour (Pong) to many hours (Breakout) on 2 cores: start it with nohup,
# outside the work tree, e.g.
#   nohup nice -n 19 scripts/learning-runs.sh /work/runs/v5 >> /work/runs/v5.log 2>&1 &
# and follow it with `arena sweep status --out OUT/pong-2m` or `tensorboard --logdir OUT`.
# ARENA names another arena binary (a copy, so rebuilding the work tree does not touch the runs).
# To stop everything with checkpoints: `kill -TERM <this script's pid>`; it passes the signal to
# the running trainers, which checkpoint, and then stops without starting the next run.
# Edit this file only while it is not running (bash reads a running script as it goes), or
# replace it with a new file (mv), which the running copy does not see.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-results}"
arena="${ARENA:-.build/release/arena}"
[ -x "$arena" ] || { echo "learning-runs: build first (make build)" >&2; exit 1; }

children=()
stopping=false
stop() {
  echo "learning-runs: stopping; the running trainers write their checkpoints" >&2
  stopping=true
  for c in "${children[@]}"; do kill -TERM "$c" 2>/dev/null || true; done
  for c in "${children[@]}"; do wait "$c" 2>/dev/null || true; done
  exit 130
}
trap stop TERM INT

# preset NAME: the candidate's file, or where the CPU has no AVX512_BF16 its fp32 twin.
preset() {
  local file="agents/candidates/$1.json"
  if grep -qw avx512_bf16 /proc/cpuinfo; then echo "$file"; return; fi
  mkdir -p "$out/presets"
  sed 's/"precision": "bf16"/"precision": "fp32"/' "$file" > "$out/presets/$1.json"
  echo "$out/presets/$1.json"
}
grep -qw avx512_bf16 /proc/cpuinfo || echo "learning-runs: this CPU has no AVX512_BF16; the presets run in fp32" >&2

# together SPEC...: runs in parallel, one `arena train` each; waits for all.
# Each SPEC is "preset:game:seed:frames:out:threads".
together() {
  children=()
  for spec in "$@"; do
    IFS=: read -r name game seed frames dir threads <<<"$spec"
    "$arena" train --game "$game" --agent "$(preset "$name")" --seed "$seed" --frames "$frames" --out "$dir" \
      --threads "$threads" &
    children+=($!)
  done
  local status=0
  for c in "${children[@]}"; do wait "$c" || status=$?; done
  children=()
  $stopping && exit 130
  return $status
}

# carry FROM TO: TO starts as a copy of the finished run folder FROM (once), to be extended by
# `arena train` with a larger budget; FROM stays as it finished.
carry() {
  if [ ! -e "$2" ]; then
    [ -f "$1/evaluation.json" ] || { echo "learning-runs: $1 has not finished; cannot carry it on" >&2; exit 1; }
    mkdir -p "$(dirname "$2")" && cp -a "$1" "$2.partial" && rm -f "$2.partial/.lock" && mv "$2.partial" "$2"
  fi
}

# short RUN: true when the finished RUN's final evaluation is below +18 (the issue's bar).
short() {
  python3 -c 'import json, sys; sys.exit(0 if json.load(open(sys.argv[1]))["mean"] < 18 else 1)' "$1/evaluation.json"
}

pong=cpu-fast-decay100k
folder() { echo "$1/pong/$pong/$2"; }

# 1. Pong at 2M frames, seeds 1 and 2.
together "$pong:pong:1:2000000:$out/pong-2m:1" "$pong:pong:2:2000000:$out/pong-2m:1"

# 2. Seed 3 at 2M frames, and the seeds short of +18 carried on to 4M, two at a time.
pending=("$pong:pong:3:2000000:$out/pong-2m:1")
for seed in 1 2 3; do
  # seed 3's 2M-frame run must finish before its own result can be read
  if [ "$seed" = 3 ] && [ ! -f "$(folder "$out/pong-2m" 3)/evaluation.json" ]; then
    together "${pending[@]}"
    pending=("${pending[@]:1}")
  fi
  if short "$(folder "$out/pong-2m" "$seed")"; then
    carry "$(folder "$out/pong-2m" "$seed")" "$(folder "$out/pong-4m" "$seed")"
    pending+=("$pong:pong:$seed:4000000:$out/pong-4m:1")
  fi
  if [ ${#pending[@]} -eq 2 ]; then together "${pending[@]}"; pending=(); fi
done
[ ${#pending[@]} -eq 0 ] || together "${pending[@]}"

# 3. Breakout at 10M frames, one seed.
together "cpu-fast-decay250k:breakout:1:10000000:$out/breakout-10m:2"
