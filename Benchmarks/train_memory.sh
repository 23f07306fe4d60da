#!/usr/bin/env bash
# Resident memory of a real `arena train` process whose replay memory holds 1M transitions.
#
#   Benchmarks/train_memory.sh [TRANSITIONS]   (default 1000000)
#
# Trains Pong with the Nature preset (replay capacity 1M) in a scratch folder, with the warm-up
# moved to TRANSITIONS - 5000 steps so the replay fills at emulator speed and the last 5,000 steps
# run real updates (1,250 of them). Prints the process's peak resident size (VmHWM) and its
# resident size once the replay holds TRANSITIONS transitions, then kills the run and deletes the
# scratch folder (the run's checkpoint would be 7 GB). Takes about 10 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
transitions="${1:-1000000}"
arena=.build/release/arena
[ -x "$arena" ] || { echo "train_memory: build first (make build)" >&2; exit 1; }
scratch="$(mktemp -d "${TMPDIR:-/tmp}/arena-memory.XXXXXX")"
log="$scratch/train.log"
cleanup() { [ -n "${pid:-}" ] && kill -9 "$pid" 2>/dev/null || true; rm -rf "$scratch"; }
trap cleanup EXIT
"$arena" train --game pong --agent agents/dqn-nature.json --steps "$((transitions + 1000))" --seed 1 \
  --iteration-steps "$((transitions + 1000))" --eval-episodes 1 --out "$scratch/results" --plain \
  --set warmupSteps="$((transitions - 5000))" >"$log" 2>&1 &
pid=$!
# Progress lines read "iter 0 train | 123.0k/1.00M steps ..."; wait until the count passes TRANSITIONS.
steps_done() {
  { grep -o 'train | [0-9.]*[kM]*/' "$log" 2>/dev/null || true; } | tail -1 | sed 's/train | //; s/\///' |
    awk '{ v = $1; if (v ~ /k$/) v = v * 1000; else if (v ~ /M$/) v = v * 1000000; print int(v) }'
}
while kill -0 "$pid" 2>/dev/null; do
  done_steps="$(steps_done)"
  if [ -n "$done_steps" ] && [ "$done_steps" -ge "$transitions" ]; then break; fi
  sleep 5
done
kill -0 "$pid" 2>/dev/null || { echo "train_memory: the run stopped early:" >&2; tail -5 "$log" >&2; exit 1; }
rss_kb="$(awk '/^VmRSS/ { print $2 }' "/proc/$pid/status")"
hwm_kb="$(awk '/^VmHWM/ { print $2 }' "/proc/$pid/status")"
echo "replay transitions: $(steps_done) (capacity 1M, Nature preset, Pong)"
echo "resident now:  $((rss_kb / 1024)) MiB ($((rss_kb * 1024)) bytes)"
echo "peak resident: $((hwm_kb / 1024)) MiB ($((hwm_kb * 1024)) bytes)"
