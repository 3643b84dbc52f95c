#!/usr/bin/env bash
# The README's evaluation table: every method on every VITAL task in DATA, embedded model.
# Resumable: rerun the same command after an interruption and it continues.
#   bash bench/vital_benchmark.sh ../shared/vital [OUT_DIR]
set -euo pipefail
data=${1:?usage: bash bench/vital_benchmark.sh VITAL_DIR [OUT_DIR]}
out=${2:-runs/vital-dev}
ethos=${ETHOS:-.venv/bin/ethos}
# Half the published token budgets and one persona attempt, so that 175 items x 5 methods fit in
# about 80 minutes on 2 CPU cores. Six personas, as published.
budget=(--persona-tokens 240 --persona-attempts 1 --comment-tokens 100 --moderator-tokens 100)
for spec in distributional-moralchoice:55 steerable-opinionqa:40 distributional-globalopinionqa:40 overton-vk:40; do
  task=${spec%%:*}
  started=$(date +%s)
  "$ethos" eval --task "$task" --method all --data "$data" --limit "${spec##*:}" --out "$out/$task" "${budget[@]}" --no-progress
  echo "$task: $(( $(date +%s) - started )) s" >&2
done
"$ethos" report "$out" --out "$out/report"
