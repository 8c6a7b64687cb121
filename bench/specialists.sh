#!/bin/sh
# Specialists bench: starts `synapse serve` on MODEL with four specialists,
# each on its own LoRA adapter (ADAPTERS, four GGUF files), and runs
# bench/specialists.py: 4 clients on 4 adapters against 4 on the bare base,
# and a 300-token system prompt's time to first token, cold and cached.
# Usage: bench/specialists.sh [MODEL] [BUILD_DIR]
#   defaults: ../shared/testdata's qwen2-f16.gguf with copies of its lora-a
#   and lora-b (a tiny model: the ratios, not the figures, carry over)
here=$(cd "$(dirname "$0")" && pwd)
data=${SYN_TESTDATA:-$here/../../shared/testdata}/models
model=${1:-$data/qwen2-f16.gguf}
build=${2:-.}
home=$(mktemp -d)
. "$here/serve.sh"
trap 'kill $pid 2>/dev/null; rm -rf "$home"' EXIT
set -- ${ADAPTERS:-$data/lora-a.gguf $data/lora-b.gguf $data/lora-a.gguf $data/lora-b.gguf}
{
    echo "chat_template: chatml"
    echo "limits: {max_tokens: 4096}"
    echo "specialists:"
    i=0
    for a in "$@"; do
        i=$((i + 1))
        cp "$a" "$home/adapter$i.gguf" # its own file: four adapters loaded, not one shared
        printf '  - name: s%d\n    system_prompt: "You are specialist %d."\n    adapter: %s\n' $i $i "$home/adapter$i.gguf"
    done
} >"$home/config.yaml"
bench_serve "$home/server.log" --config "$home/config.yaml" --model "$model" --parallel 8 --ctx-size 2048
echo "model $model, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores"
python3 "$here/specialists.py" "http://127.0.0.1:$port" s1 s2 s3 s4
