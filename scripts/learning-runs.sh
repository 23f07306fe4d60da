#!/usr/bin/env bash
# Every learning run behind the README's results and agents/README.md's recipe table, resumed or
# started from nothing (one `arena train` process per game and seed; a finished run is skipped,
# an interrupted one resumes from its newest checkpoint, a missing one starts).
#
# In order (each step waits for the one before). Breakout comes first: the Pong runs of steps 2-4
# have finished and their reports are in results/learning-runs/, so on a fresh machine the runs
# still owed come before the ones that reproduce reports already committed; the candidates
# already decided come last:
#   0. Breakout, 10M frames (2.5M agent steps), seed 1, of agents/dqn-cpu-recipe3.json with every
#      thread (point 4; first, because it is the longest and the shipped Breakout agent comes
#      from it);
#   1. Breakout, 2M frames, seed 1 of agents/dqn-cpu-recipe3.json under nature2015 and under
#      nature2015 without FIRE after a lost life (`--protocol-set fireOnLifeLoss=false`), side by
#      side, one thread each: the effect of that choice on learning (point 1);
#   2. Pong, 2M frames, seeds 1 and 2 side by side, one thread each, of
#      agents/candidates/cpu-recipe2-epsilon-end-0.05.json: recipe2 with epsilon falling to the
#      evaluation's 0.05 instead of 0.01 (adopted by them as agents/dqn-cpu-recipe3.json, the same
#      file under the preset's name; the runs keep the candidate's name so its three seeds share
#      one folder and one report: results/learning-runs/dqn-cpu-recipe3-2m);
#   3. Pong, seed 3 of the same file with every thread: 2M frames (500k agent steps), and if its
#      final evaluation is below +18, a copy carried on to 4M frames (issue "learning", point 3:
#      +18 on every seed within 4M frames: a seed at +18 or more at 2M frames has met it, and
#      only a seed below is carried on and scored at 4M);
#   4. Pong, seeds 3 and 1 of agents/dqn-cpu-recipe2.json (`make run`'s preset before recipe3)
#      the same way (both below +18 at 2M frames, both finished at 4M frames; report:
#      results/learning-runs/dqn-cpu-recipe2-4m);
#   5. Pong, seed 2 of agents/dqn-cpu-recipe2.json as in step 4 (superseded by recipe3, so after
#      Breakout; at 2M frames it repeats the runs of agents/candidates/cpu-recipe-update2.json,
#      the same configuration under its candidate name, whose report is
#      results/learning-runs/cpu-recipe-update2-2m);
#   6. Pong, 2M frames, seeds 1 and 2 side by side, one thread each, of
#      agents/candidates/cpu-recipe-update2.json: the runs that adopted it (report:
#      results/learning-runs/cpu-recipe-update2-2m; one lane each, so not the same trajectories
#      as step 5, whose two lanes sum the gradient in another order);
#   7. Pong, 4M frames, seeds 1 and 2 of agents/dqn-cpu-recipe.json (the recipe before
#      dqn-cpu-recipe2; never finished: lost twice with the machine), side by side, one thread each;
#   8. Pong, 2M frames, seeds 1 and 2 side by side of agents/candidates/cpu-fast-decay100k.json:
#      the recipe with epsilon decaying over 100k agent steps instead of 250k (dropped; its
#      report is results/learning-runs/cpu-fast-decay100k-2m);
#   9. Pong, 2M frames, seeds 1 and 2 side by side of agents/candidates/cpu-recipe-batch64.json:
#      the recipe with batch 64 at half the update rate (dropped; its report is
#      results/learning-runs/cpu-recipe-batch64-2m);
#  10. Pong, 2M frames and then carried on to 4M, seeds 1 and 2 of
#      agents/candidates/cpu-fast-adam-eps1e-8-bf16.json: the runs behind agents/pong-dqn-recipe
#      (the recipe with our convolution kernels instead of oneDNN's).
# Where the CPU has no AVX512_BF16 the presets' fp32 twins run (the same files with precision
# fp32, written into OUT/presets/fp32/).
#
#   scripts/learning-runs.sh [OUT]      (default: results)
#
# Runs take one to three hours (Pong) to many hours (Breakout) on 2 cores: start it with nohup,
# outside the work tree, e.g.
#   nohup nice -n 19 scripts/learning-runs.sh /work/runs/v7 >> /work/runs/v7.log 2>&1 &
# and follow it in its log, with `arena sweep status --out OUT` (every run folder: finished,
# running or stopped, with its agent steps and latest evaluation), `arena compare OUT
# --include-unfinished --out /tmp/now` (curves and tables) or `tensorboard --logdir OUT`.
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

# preset NAME [RUN]: agents/NAME.json or agents/candidates/NAME.json, or where the CPU has no
# AVX512_BF16 its fp32 twin. A run folder RUN that has already started keeps the precision it
# recorded (a run started in fp32 on a CPU without AVX512_BF16 resumes in fp32 on one with it;
# `arena train` refuses to resume a run under another configuration).
preset() {
  local file="agents/$1.json" precision=bf16
  [ -f "$file" ] || file="agents/candidates/$1.json"
  grep -qw avx512_bf16 /proc/cpuinfo || precision=fp32
  if [ -n "${2:-}" ] && [ -f "$2/config.json" ]; then
    precision=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["agent_config"]["precision"])' "$2/config.json")
  fi
  grep -q '"precision": "bf16"' "$file" || { echo "$file"; return; }
  if [ "$precision" = bf16 ]; then echo "$file"; return; fi
  mkdir -p "$out/presets/$precision"
  sed "s/\"precision\": \"bf16\"/\"precision\": \"$precision\"/" "$file" > "$out/presets/$precision/$1.json"
  echo "$out/presets/$precision/$1.json"
}
grep -qw avx512_bf16 /proc/cpuinfo || echo "learning-runs: this CPU has no AVX512_BF16; the presets run in fp32" >&2

# together SPEC...: runs in parallel, one `arena train` each; waits for all.
# Each SPEC is "preset:game:seed:frames:out:threads[:protocol change]".
together() {
  children=()
  for spec in "$@"; do
    IFS=: read -r name game seed frames dir threads change <<<"$spec"
    local changes=()
    [ -n "$change" ] && changes=(--protocol-set "$change")
    # The preset file is written here, before the run goes to the background, so that two runs
    # of one preset never write it while the other reads it.
    local agent
    agent=$(preset "$name" "$dir/$game/$name/$seed")
    "$arena" train --game "$game" --agent "$agent" --seed "$seed" --frames "$frames" --out "$dir" \
      --threads "$threads" "${changes[@]}" &
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

# solo PRESET GAME SEED TARGET: 2M frames with every thread, then, unless the final evaluation's
# mean reached TARGET, a copy carried on to 4M frames.
solo() {
  together "$1:$2:$3:2000000:$out/$2-2m:2"
  if python3 -c 'import json, sys; sys.exit(0 if json.load(open(sys.argv[1]))["mean"] >= float(sys.argv[2]) else 1)' \
      "$out/$2-2m/$2/$1/$3/evaluation.json" "$4"; then
    echo "learning-runs: $2 $1 seed $3 reached $4 at 2M frames; not carried on" >&2
    return
  fi
  carry "$out/$2-2m/$2/$1/$3" "$out/$2-4m-carried/$2/$1/$3"
  together "$1:$2:$3:4000000:$out/$2-4m-carried:2"
}

# 0. Breakout at 10M frames, one seed.
together "dqn-cpu-recipe3:breakout:1:10000000:$out/breakout-10m:2"

# 1. Breakout at 2M frames, with and without FIRE after a lost life.
together "dqn-cpu-recipe3:breakout:1:2000000:$out/breakout-2m:1" \
  "dqn-cpu-recipe3:breakout:1:2000000:$out/breakout-2m-no-fire-on-life-loss:1:fireOnLifeLoss=false"

# 2. Pong at 2M frames, seeds 1 and 2 of epsilon falling to 0.05 (recipe3).
floor=cpu-recipe2-epsilon-end-0.05
together "$floor:pong:1:2000000:$out/pong-2m:1" "$floor:pong:2:2000000:$out/pong-2m:1"

# 3. Its third seed, 2M frames and on to 4M if below +18.
solo "$floor" pong 3 18

# 4. recipe2's seeds 3 and 1, 2M frames and on to 4M.
for seed in 3 1; do solo dqn-cpu-recipe2 pong "$seed" 18; done

# 5. recipe2's seed 2.
solo dqn-cpu-recipe2 pong 2 18

# 6. The adopting runs of the update-every-2 candidate, one lane each.
together "cpu-recipe-update2:pong:1:2000000:$out/pong-2m:1" "cpu-recipe-update2:pong:2:2000000:$out/pong-2m:1"

# 7. Pong at 4M frames, seeds 1 and 2 of the recipe before.
together "dqn-cpu-recipe:pong:1:4000000:$out/pong-4m:1" "dqn-cpu-recipe:pong:2:4000000:$out/pong-4m:1"

# 8. Pong at 2M frames, seeds 1 and 2 of the shorter epsilon decay.
together "cpu-fast-decay100k:pong:1:2000000:$out/pong-2m:1" "cpu-fast-decay100k:pong:2:2000000:$out/pong-2m:1"

# 9. Pong at 2M frames, seeds 1 and 2 of batch 64 at half the update rate.
together "cpu-recipe-batch64:pong:1:2000000:$out/pong-2m:1" "cpu-recipe-batch64:pong:2:2000000:$out/pong-2m:1"

# 10. The shipped Pong agent's runs: 2M frames, then copies carried on to 4M.
old=cpu-fast-adam-eps1e-8-bf16
together "$old:pong:1:2000000:$out/pong-2m:1" "$old:pong:2:2000000:$out/pong-2m:1"
for seed in 1 2; do carry "$out/pong-2m/pong/$old/$seed" "$out/pong-4m-carried/pong/$old/$seed"; done
together "$old:pong:1:4000000:$out/pong-4m-carried:1" "$old:pong:2:4000000:$out/pong-4m-carried:1"
