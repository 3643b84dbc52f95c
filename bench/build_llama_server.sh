#!/usr/bin/env bash
# Builds llama.cpp's own C++ llama-server from the sources llama-cpp-python's sdist carries (the
# llama.cpp version the embedded backend runs), for bench/bench_server_throughput.py. A CPU build
# without curl; about 5 minutes on 2 cores, kept out of CI. Run from the repository root.
set -euo pipefail
DEST=${1:-/tmp/llama-server}
PY=$(pwd)/.venv/bin/python
VERSION=$("$PY" -c "import llama_cpp; print(llama_cpp.__version__)")
mkdir -p "$DEST" && cd "$DEST"
[ -f "llama_cpp_python-$VERSION.tar.gz" ] || "$PY" -m pip download --no-binary llama-cpp-python --no-deps "llama-cpp-python==$VERSION" -d .
tar xzf "llama_cpp_python-$VERSION.tar.gz"
cmake -S "llama_cpp_python-$VERSION/vendor/llama.cpp" -B build -DCMAKE_BUILD_TYPE=Release -DLLAMA_CURL=OFF \
  -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=ON > cmake.log 2>&1
cmake --build build --target llama-server -j "$(nproc)" > build.log 2>&1
echo "$DEST/build/bin/llama-server"
