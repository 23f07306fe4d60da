#!/usr/bin/env bash
# Package a trained run as a shippable agent folder (for agents/):
#
#   scripts/export-agent.sh RUN_FOLDER OUT_FOLDER [EPISODES]
#
# OUT_FOLDER gets
#   weights.safetensors  the run's newest weights in F16 (half the size; PyTorch names and layouts)
#   config.json          the run's config.json (game, protocol, agent settings, versions, seed)
#   evaluation.json      `arena evaluate --json` of THESE F16 weights (EPISODES episodes, default 30)
#   best.episode         the evaluation's highest-scoring episode file (`arena replay` re-runs it)
# and can be used as `arena evaluate --run OUT_FOLDER` or `--weights OUT_FOLDER/weights.safetensors`.
# Everything is written into a temporary folder first and moved into place at the end, so an
# interrupted export leaves no half-written agent.
set -euo pipefail
cd "$(dirname "$0")/.."
die() { echo "export-agent: $*" >&2; exit 1; }
[ $# -ge 2 ] && [ $# -le 3 ] || die "usage: scripts/export-agent.sh RUN_FOLDER OUT_FOLDER [EPISODES]"
run="$1" out="$2" episodes="${3:-30}"
arena="${ARENA:-.build/release/arena}"   # ARENA overrides (tests pass the binary they were built with)
[ -x "$arena" ] || die "build first (make build)."
[ -f "$run/config.json" ] || die "$run is not a run folder (no config.json)."
[ -f "$run/weights.safetensors" ] || die "$run has no weights.safetensors yet (it is written after the first iteration)."
# Only a finished run ships: its final evaluation (evaluation.json) is written when the budget is spent.
python3 -c '
import json, sys
c = json.load(open(sys.argv[1] + "/config.json"))
try:
    e = json.load(open(sys.argv[1] + "/evaluation.json"))
except (OSError, ValueError):
    sys.exit(1)
sys.exit(0 if e.get("agent_steps", 0) >= c["budget_agent_steps"] else 1)' "$run" \
  || die "$run has not finished (no final evaluation.json for its budget); let it finish (run the same arena train command again) and export it then. Nothing was written."
[ -e "$out" ] && die "$out already exists; remove it or pick another name."
[[ "$episodes" =~ ^[1-9][0-9]*$ ]] || die "EPISODES must be a positive number, got $episodes."

game="$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["game"])' "$run/config.json")"
protocol="$(python3 -c 'import json, sys; c = json.load(open(sys.argv[1])); print(c["run"]["protocol"])' "$run/config.json")"
seed="$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["seed"])' "$run/config.json")"
# A run under a changed protocol (`arena train --protocol-set`) is evaluated under the same changes.
changes=()
while read -r change; do [ -n "$change" ] && changes+=(--protocol-set "$change"); done < <(python3 -c '
import json, sys
for c in json.load(open(sys.argv[1]))["run"].get("protocolChanges", []): print(c)' "$run/config.json")

stage="$(mktemp -d "$(dirname "$out")/.export.XXXXXX")"
trap 'rm -rf "$stage"' EXIT
"$arena" weights convert "$run/weights.safetensors" --dtype f16 --out "$stage/weights.safetensors" >/dev/null
cp "$run/config.json" "$stage/config.json"
"$arena" evaluate --weights "$stage/weights.safetensors" --game "$game" --protocol "$protocol" "${changes[@]}" \
  --episodes "$episodes" --seed "$seed" --episodes-dir "$stage/episodes" --json >"$stage/evaluation.json"
# Pick the highest-scoring episode from evaluation.json (ties: the first).
index="$(python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))
scores = [e["score"] for e in s["episodes"]]
print(max(range(len(scores)), key=lambda i: (scores[i], -i)))' "$stage/evaluation.json")"
file="$(ls "$stage/episodes" | grep '\.episode$' | sed -n "$((index + 1))p")"
[ -n "$file" ] || die "no episode file for evaluation episode $index."
mv "$stage/episodes/$file" "$stage/best.episode"
chmod 755 "$stage"
rm -rf "$stage/episodes"
mv "$stage" "$out"
trap - EXIT
summary="$(python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))
print("mean %.2f over %d episodes, human-normalized %.3f" % (s["mean"], len(s["episodes"]), s["human_normalized"]))' "$out/evaluation.json")"
echo "exported $run to $out ($(du -sh "$out" | cut -f1)): $summary"
