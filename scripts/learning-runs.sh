#!/usr/bin/env bash
# The learning runs behind the README's "Trained agents" section, one after another:
#   Pong, seeds 1 and 2, 4M frames; then Breakout, seed 1, 10M frames;
#   agents/dqn-cpu-fast.json, nature2015 (the sweep's default protocol), into OUT/<game>/dqn-cpu-fast/<seed>.
#
#   scripts/learning-runs.sh [OUT]      (default: results)
#
# Each run resumes from its newest checkpoint, and finished runs are skipped, so running this
# again after an interruption carries on where it stopped. Each run takes hours on 2 cores
# (about 80 agent steps/s while learning): start it with nohup and follow the run folders
# (`arena sweep status --out OUT`, `tensorboard --logdir OUT`). ARENA names another arena binary.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-results}"
arena="${ARENA:-.build/release/arena}"
[ -x "$arena" ] || { echo "learning-runs: build first (make build)" >&2; exit 1; }
"$arena" sweep --games pong --seeds 2 --agent agents/dqn-cpu-fast.json --frames 4000000 --out "$out"
"$arena" sweep --games breakout --seeds 1 --agent agents/dqn-cpu-fast.json --frames 10000000 --out "$out"
