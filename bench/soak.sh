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
SYNAPSE_HOME="$home" "$build/synapse" serve --port 0 --config "$home/soak.yaml" --model "$model" \
    --parallel 4 --ctx-size 512 >"$log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; rm -rf "$home"' EXIT
i=0
until grep -q 'listening on' "$log"; do
    sleep 0.2; i=$((i + 1))
    if [ $i -gt 300 ] || ! kill -0 $pid 2>/dev/null; then cat "$log"; exit 1; fi
done
port=$(sed -n 's/.*listening on http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$log")
# the server runs under libtool's wrapper when uninstalled: sample the real process
real=$(pgrep -P $pid -f 'synapse serve' || echo $pid)
echo "model $model, $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
python3 "$here/soak.py" "$port" "$real" "${DURATION:-1800}"
rc=$?
kill -TERM $pid
wait $pid || { echo "the server did not stop cleanly"; rc=1; }
exit $rc
