#!/usr/bin/env bash
# The README's evaluation table: every method, and EthosAgents' ablations, on VITAL tasks in DATA,
# embedded model. Items are drawn over distinct questions (seeded); intervals resample questions.
# Resumable: rerun the same command after an interruption and it continues.
#   bash bench/vital_benchmark.sh ../shared/vital [OUT_DIR] [TASK:N ...]
set -euo pipefail
data=${1:?usage: bash bench/vital_benchmark.sh VITAL_DIR [OUT_DIR] [TASK:N ...]}
out=${2:-runs/vital-dev}
shift $(( $# < 2 ? $# : 2 ))
specs=("$@")
[ ${#specs[@]} -gt 0 ] || specs=(distributional-moralchoice:55 steerable-opinionqa:40 distributional-globalopinionqa:40 overton-vk:40)
ethos=${ETHOS:-.venv/bin/ethos}
# The published persona budget (constrained lines need it); half the comment and moderator budgets,
# so that every method fits in about an hour on 2 CPU cores. Six personas, as published.
budget=(--persona-tokens 480 --persona-attempts 2 --comment-tokens 100 --moderator-tokens 100)
for spec in "${specs[@]}"; do
  task=${spec%%:*}
  case "$task" in
    steerable-*) ablations=(--ablation no-target-persona --ablation personas-3) ;;
    distributional-*) ablations=(--ablation no-author-voice --ablation personas-3) ;;
    *) ablations=(--ablation personas-3) ;;
  esac
  started=$(date +%s)
  "$ethos" eval --task "$task" --method all --data "$data" --limit "${spec##*:}" --out "$out/$task" \
    "${budget[@]}" "${ablations[@]}" --no-progress
  echo "$task: $(( $(date +%s) - started )) s" >&2
done
"$ethos" report "$out" --out "$out/report"
