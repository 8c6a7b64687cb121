#!/bin/sh
# Routing overhead: a server with 16 specialists answers the same prompts
# routed ("model": "synapse") and named ("synapse/<name>", no routing),
# one token each, one request at a time. Prints the router's own decision
# time and the query embedding (median and p95 over the routed requests,
# from GET /api/routes), and the mean wall time per request both ways.
# Then swarm against single: GEN tokens (16) for a query with one part
# and for one with two parts (two specialists in parallel, then the
# synthesis), mean wall time of SWARM_N (6) requests each.
#   bench/route.sh [MODEL.gguf] [REQUESTS]
# Run from the build tree (./synapse); needs curl and node. SYNAPSE_ARGS
# adds serve flags (the test models need --chat-template chatml).
set -eu
model=${1:-../shared/testdata/models/qwen2-f16.gguf}
n=${2:-40}
synapse=${SYNAPSE:-./synapse}
work=$(mktemp -d)
trap 'kill $pid 2>/dev/null; rm -rf "$work"' EXIT
{
    echo "specialists:"
    for t in code poem sql math law cook wine travel music film chess garden car tax health sport; do
        printf '  - name: %s-expert\n    description: answers questions about %s\n' "$t" "$t"
        printf '    capabilities: [%s, %s help, %s question, %s advice, %s expert]\n' "$t" "$t" "$t" "$t" "$t"
        printf '    examples: ["a question about %s", "help me with %s"]\n' "$t" "$t"
    done
} >"$work/config.yaml"
SYNAPSE_HOME="$work" "$synapse" serve --port 0 --config "$work/config.yaml" --model "$model" --threads 2 ${SYNAPSE_ARGS:-} \
    >"$work/log" 2>&1 &
pid=$!
i=0
until grep -q 'listening on' "$work/log"; do
    i=$((i + 1)); [ $i -lt 600 ] || { cat "$work/log"; exit 1; }; sleep 0.1
done
port=$(sed -n 's/.*listening on http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$work/log")
ask() { # MODEL PROMPT [MAX_TOKENS] -> seconds
    out=$(curl -s -o "$work/body" -w '%{http_code} %{time_total}' -H 'Content-Type: application/json' \
        "http://127.0.0.1:$port/v1/chat/completions" \
        --data-binary "{\"model\":\"$1\",\"messages\":[{\"role\":\"user\",\"content\":\"$2\"}],\"max_tokens\":${3:-1},\"temperature\":0}")
    [ "${out% *}" = 200 ] || { echo "$1: $(cat "$work/body")" >&2; exit 1; }
    echo "${out#* }"
}
topics="code poem sql math law cook wine travel music film chess garden car tax health sport"
: >"$work/routed"
: >"$work/named"
k=0
while [ $k -lt "$n" ]; do
    t=$(echo $topics | cut -d' ' -f$((k % 16 + 1)))
    # in turn first, as the second finds the first's prompt cached
    if [ $((k % 2)) -eq 0 ]; then
        ask synapse "I need some $t advice for tomorrow" >>"$work/routed"
        ask "synapse/$t-expert" "I need some $t advice for tomorrow" >>"$work/named"
    else
        ask "synapse/$t-expert" "I need some $t advice for today" >>"$work/named"
        ask synapse "I need some $t advice for today" >>"$work/routed"
    fi
    k=$((k + 1))
done
gen=${GEN:-16}
: >"$work/single"
: >"$work/swarm"
k=0
while [ $k -lt "${SWARM_N:-6}" ]; do
    ask synapse "I need some chess advice" "$gen" >>"$work/single"
    grep -q '"mode":"single"' "$work/body" || { echo "not single: $(cat "$work/body")" >&2; exit 1; }
    ask synapse "I need some chess advice and a garden question answered" "$gen" >>"$work/swarm"
    grep -q '"mode":"swarm"' "$work/body" || { echo "not a swarm: $(cat "$work/body")" >&2; exit 1; }
    k=$((k + 1))
done
curl -s "http://127.0.0.1:$port/api/routes?limit=$((2 * n))" >"$work/routes"
[ -z "${BENCH_DEBUG:-}" ] || head -c 600 "$work/routes"
node -e '
const fs = require("fs"), [routes, routed, named, cpu, single, swarm, gen] = process.argv.slice(1);
const r = JSON.parse(fs.readFileSync(routes, "utf8")).data.filter(x => "decision_ms" in x);
const q = (a, p) => { a = [...a].sort((x, y) => x - y); return a[Math.min(a.length - 1, Math.floor(p * a.length))]; };
const nums = f => fs.readFileSync(f, "utf8").trim().split("\n").map(Number);
const mean = a => a.reduce((x, y) => x + y, 0) / a.length;
const d = r.map(x => x.decision_ms), e = r.map(x => x.embedding_ms);
const a = nums(routed), b = nums(named);
console.log(JSON.stringify({cpu, specialists: 16, requests: r.length,
  decision_ms: {median: q(d, 0.5), p95: q(d, 0.95)}, embedding_ms: {median: q(e, 0.5), p95: q(e, 0.95)},
  request_ms: {routed: +(mean(a) * 1e3).toFixed(2), named: +(mean(b) * 1e3).toFixed(2),
  overhead: +((mean(a) - mean(b)) * 1e3).toFixed(2)}}));
const s1 = nums(single), s2 = nums(swarm);
console.log(JSON.stringify({cpu, gen_tokens: +gen, single_ms: +(mean(s1) * 1e3).toFixed(1),
  swarm_ms: +(mean(s2) * 1e3).toFixed(1), swarm_over_single: +(mean(s2) / mean(s1)).toFixed(2)}));
' "$work/routes" "$work/routed" "$work/named" "$(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1)" \
    "$work/single" "$work/swarm" "$gen"
