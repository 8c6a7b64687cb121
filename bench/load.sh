#!/bin/sh
# Load benchmark: starts `synapse serve` on MODEL and runs bench/load.mjs with
# 1, 4 and 8 concurrent streaming clients.
# Usage: bench/load.sh [MODEL] [BUILD_DIR]   (default: /tmp/models/qwen2.5-0.5b-Q4_K_M.gguf, .)
model=${1:-/tmp/models/qwen2.5-0.5b-Q4_K_M.gguf}
build=${2:-.}
here=$(cd "$(dirname "$0")" && pwd)
home=$(mktemp -d)
. "$here/serve.sh"
trap 'kill $pid 2>/dev/null; rm -rf "$home"' EXIT
bench_serve "$home/server.log" --model "$model" --parallel 8 --ctx-size 1024
echo "model $model, $(nproc) cores, load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
# one untimed request first: the first forward after start touches the KV
# cache and scratch memory for the first time, which no later run pays
node "$here/load.mjs" "http://127.0.0.1:$port" 1 1 8 >/dev/null
for c in ${CLIENTS:-1 4 8}; do
    node "$here/load.mjs" "http://127.0.0.1:$port" "$c" "${REQUESTS:-2}" "${MAX_TOKENS:-64}"
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
