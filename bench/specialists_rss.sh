#!/bin/sh
# Memory of specialists: the resident set of `synapse serve` on MODEL alone
# against the same server with one specialist per adapter in ADAPTERS (six
# GGUF or PEFT adapters), each answering one request first so every
# adapter has run; prints both, the adapters' file sizes and the excess
# over the base plus those sizes.
# Usage: bench/specialists_rss.sh MODEL [BUILD_DIR]   (ADAPTERS="a1 ... a6")
here=$(cd "$(dirname "$0")" && pwd)
model=$1
build=${2:-.}
[ -n "$model" ] && [ -n "$ADAPTERS" ] || { echo "usage: ADAPTERS='a1 ... a6' $0 MODEL [BUILD_DIR]" >&2; exit 2; }
home=$(mktemp -d)
. "$here/serve.sh"
trap 'kill $pid 2>/dev/null; rm -rf "$home"' EXIT

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
ask() {
    curl -s "http://127.0.0.1:$port/v1/chat/completions" -H 'Content-Type: application/json' \
        -d "{\"model\": \"$1\", \"max_tokens\": 8, \"temperature\": 0, \"messages\": [{\"role\": \"user\", \"content\": \"hello\"}]}" \
        >/dev/null
}

printf 'chat_template: chatml\n' >"$home/base.yaml"
bench_serve "$home/base.log" --config "$home/base.yaml" --model "$model" --parallel 4 --ctx-size 1024
ask synapse
base=$(rss_kib $pid)
kill $pid; wait $pid 2>/dev/null

set -- $ADAPTERS
files=0
{
    echo "chat_template: chatml"
    echo "specialists:"
    i=0
    for a in "$@"; do
        i=$((i + 1))
        files=$((files + $(du -k --apparent-size -s "$a" | cut -f1)))
        printf '  - name: s%d\n    system_prompt: "You are specialist %d."\n    adapter: %s\n' $i $i "$a"
    done
} >"$home/six.yaml"
bench_serve "$home/six.log" --config "$home/six.yaml" --model "$model" --parallel 4 --ctx-size 1024
i=0
for a in "$@"; do i=$((i + 1)); ask "s$i"; done
six=$(rss_kib $pid)
echo "model $model, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores"
echo "rss base alone:        $((base / 1024)) MiB"
echo "rss with $# adapters:    $((six / 1024)) MiB"
echo "adapter files:         $((files / 1024)) MiB"
awk -v b="$base" -v s="$six" -v f="$files" 'BEGIN {
    printf "added: %.1f MiB = %.3f x the adapters'"'"' file sizes (target <= 1.10)\n", (s - b) / 1024, (s - b) / f }'
