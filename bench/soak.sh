#!/bin/sh
# Soak benchmark: `synapse serve` under DURATION seconds (1800) of mixed
# traffic from bench/soak.py (streams, disconnects, embeddings, bad
# requests, slow and idle clients), with its RSS, open descriptors and the
# p99 time to first token sampled every 10 s.
# Usage: bench/soak.sh [MODEL] [BUILD_DIR]
#   default MODEL: ../shared/testdata/models/qwen2-chat-Q8_0.gguf; BUILD_DIR: .
here=$(cd "$(dirname "$0")" && pwd)
model=${1:-$here/../../shared/testdata/models/qwen2-chat-Q8_0.gguf}
build=${2:-.}
home=$(mktemp -d)
log="$home/server.log"
printf 'limits:\n  request_timeout_s: 2\n' >"$home/soak.yaml"
. "$here/serve.sh"
trap 'kill $pid 2>/dev/null; rm -rf "$home"' EXIT
bench_serve "$log" --config "$home/soak.yaml" --model "$model" --parallel 4 --ctx-size 512
# the server runs under libtool's wrapper when uninstalled: sample the real process
real=$(pgrep -P $pid -f 'synapse serve' || echo $pid)
echo "model $model, $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
python3 "$here/soak.py" "$port" "$real" "${DURATION:-1800}"
rc=$?
kill -TERM $pid
wait $pid || { echo "the server did not stop cleanly"; rc=1; }
exit $rc
