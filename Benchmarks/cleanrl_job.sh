#!/usr/bin/env bash
# The whole training job against CleanRL's dqn_atari.py (unmodified), alternating rounds in one run:
# plain DQN on Pong, 14k agent steps, updates from step 2,000 every 4 steps (3,000 updates), batch
# 32, replay 100k, target sync every 1,000 steps, Adam 1e-4 (epsilon 1e-8), squared TD error, no
# evaluations. Prints each wall time and the ratio.
#
#   CLEANRL=/work/peers/cleanrl VENV=/work/venvs/cleanrl Benchmarks/cleanrl_job.sh [ROUNDS] [PRESET]
#
# Each round also times the same arena job with its updates left out (an update period longer
# than the job): start-up, emulation, preprocessing, replay and acting, the part of the job that
# no faster update can remove. ROUNDS defaults to 2; PRESET (default agents/dqn-cpu-recipe.json, `make run`'s) supplies the
# numerics (precision, kernels); everything that defines the job is set here. CLEANRL is a checkout
# of vwxyzjn/cleanrl, VENV the venv of ../shared/peers/README.md, whose cleanrl_launch.py registers
# ale-py 0.12.1's v4 ids. OPENBLAS_CORETYPE is unset for both, as on a user's machine.
#
# The exploration schedule matters more than it looks: CleanRL's epsilon falls from 1 to 0.01 over
# the first 10% of the job (1,400 steps), so from there on nearly every step runs a forward pass.
# An arena preset's own decay (250k steps in the CPU presets) would leave epsilon near 1 for the
# whole job and skip those forward passes; here epsilon drops to 0.01 when the warm-up ends (at
# step 2,000: ours acts at random for 600 steps where CleanRL is already greedy).
set -euo pipefail
cd "$(dirname "$0")/.."
: "${CLEANRL:?set CLEANRL to a checkout of vwxyzjn/cleanrl}" "${VENV:?set VENV to the CleanRL venv}"
rounds="${1:-2}"
preset="${2:-agents/dqn-cpu-recipe.json}"
arena="${ARENA:-.build/release/arena}"
peers="$(cd ../shared/peers && pwd)"
[ -x "$arena" ] || { echo "cleanrl_job: build first (make build)" >&2; exit 1; }
[ -f "$preset" ] || { echo "cleanrl_job: no preset $preset" >&2; exit 1; }
[ -f "$CLEANRL/cleanrl/dqn_atari.py" ] || { echo "cleanrl_job: $CLEANRL has no cleanrl/dqn_atari.py (a checkout of vwxyzjn/cleanrl)" >&2; exit 1; }
[ -x "$VENV/bin/python" ] || { echo "cleanrl_job: $VENV/bin/python is missing (the venv of ../shared/peers/README.md)" >&2; exit 1; }
scratch="$(mktemp -d "${TMPDIR:-/tmp}/cleanrl-job.XXXXXX")"
trap 'rm -rf "$scratch"' EXIT

seconds() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$1" "$2"; }
echo "cpu: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores; preset $preset"
for r in $(seq 1 "$rounds"); do
  s=$(date +%s.%N)
  (cd "$CLEANRL" && env -u OPENBLAS_CORETYPE PYTHONPATH="$CLEANRL" "$VENV/bin/python" "$peers/cleanrl_launch.py" \
    cleanrl/dqn_atari.py --env-id PongNoFrameskip-v4 --seed "$r" --no-cuda --total-timesteps 14000 \
    --learning-starts 2000 --buffer-size 100000 >"$scratch/cleanrl.log" 2>&1) ||
    { tail -20 "$scratch/cleanrl.log" >&2; echo "cleanrl_job: CleanRL's run failed (its log above)" >&2; exit 1; }
  c=$(seconds "$s" "$(date +%s.%N)")
  job() {
    env -u OPENBLAS_CORETYPE "$arena" train --game pong --agent "$preset" --steps 14000 --seed "$r" \
      --set warmupSteps=2000 --set batchSize=32 --set replayCapacity=100000 \
      --set doubleDQN=false --set dueling=false --set nStep=1 --set targetUpdatePeriod=1000 \
      --set epsilonEnd=0.01 --set epsilonDecaySteps=0 --set loss=mse --set optimizer.learningRate=0.0001 \
      --set optimizer.epsilon=1e-8 --eval-episodes 0 --final-eval-episodes 0 --iteration-steps 14000 \
      --out "$scratch/arena-$r-$1" --plain --set updatePeriod="$1" >"$scratch/arena.log" 2>&1 ||
      { cat "$scratch/arena.log" >&2; exit 1; }
  }
  s=$(date +%s.%N); job 4; a=$(seconds "$s" "$(date +%s.%N)")
  s=$(date +%s.%N); job 100000; f=$(seconds "$s" "$(date +%s.%N)")
  echo "round $r: CleanRL $c s, AtariArena $a s, ratio $(python3 -c "print(f'{$c / $a:.2f}')")x; AtariArena without updates $f s"
done
