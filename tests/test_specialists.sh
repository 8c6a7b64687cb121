#!/bin/sh
# Specialists end to end: configured in config.yaml (a system prompt and a
# LoRA adapter each), served as synapse/<name>; a specialist's greedy answer
# through the API equals `synapse run --system --lora` on the same prompt;
# four specialists at once equal each alone; POST/GET/DELETE
# /api/specialists at runtime, written back to the config (comments kept)
# and there after a restart; a delete while a request of it runs lets that
# request finish; every bad definition refused with the reason.
top=${top_builddir:-.}
src=${top_srcdir:-.}
synapse="$top/synapse"
models="${SYN_TESTDATA:-$src/../shared/testdata}/models"
model="$models/qwen2-f16.gguf"
command -v node >/dev/null 2>&1 || { echo "node not found: skipped"; exit 77; }
command -v curl >/dev/null 2>&1 || { echo "curl not found"; exit 1; }
. "$src/tests/server/lib.sh"

home="$work/home-spec"
mkdir -p "$home/adapters"
cp "$models/lora-a.gguf" "$home/adapters/coder-a.gguf"
cat >"$work/spec.yaml" <<YAML
# my own comment (é, ü), which must survive the server's writes
data_dir: $home
specialists:
  - name: coder
    description: writes code
    capabilities: [code, c]
    system_prompt: "You write C."
    adapter: coder-a
  - name: poet
    system_prompt: "You write poems."
    adapter: $models/lora-b.gguf
    adapter_scale: 0.5
  - name: plain
    system_prompt: "You answer plainly."
limits:
  max_tokens: 4000  # a comment after the list
YAML

# what `synapse run` answers: SYSTEM ADAPTER SCALE PROMPT
run_answer() {
    set -- "$1" "$2" "$3" "$4"
    "$synapse" run -m "$model" --chat-template chatml --threads 1 --temperature 0 -n 8 --system "$1" \
        ${2:+--lora "$2" --lora-scale "$3"} -p "$4" 2>/dev/null
}
# the API's answer: MODEL PROMPT [MAX_TOKENS]
api_answer() {
    curl -s -m 120 -H 'Content-Type: application/json' "http://127.0.0.1:$port/v1/chat/completions" \
        --data-binary "{\"model\":\"$1\",\"messages\":[{\"role\":\"user\",\"content\":\"$2\"}],\"max_tokens\":${3:-8},\"temperature\":0}" |
        node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const o=JSON.parse(s);if(!o.choices)console.error(s);process.stdout.write(o.choices[0].message.content+"\n")})'
}

SYNAPSE_HOME="$home" timeout 300 "$synapse" serve --port 0 --config "$work/spec.yaml" --model "$model" \
    --chat-template chatml --parallel 4 --ctx-size 2048 --threads 1 >"$work/spec.log" 2>&1 &
last=$!; pids="$pids $last"
i=0
while ! grep -q 'listening on' "$work/spec.log"; do
    i=$((i + 1)); [ $i -gt 200 ] && { cat "$work/spec.log"; bad "server did not start"; finish test_specialists; }
    sleep 0.1
done
port=$(sed -n 's/.*listening on http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$work/spec.log")

# /v1/models names every specialist
curl -s "http://127.0.0.1:$port/v1/models" >"$work/models"
for n in synapse synapse/coder synapse/poet synapse/plain; do
    grep -q "\"id\":\"$n\"" "$work/models" || bad "/v1/models lacks $n: $(cat "$work/models")"
done

# each specialist's answer is `synapse run`'s with its prompt and adapter
p="tell me about the sea"
[ "$(api_answer synapse/coder "$p")" = "$(run_answer "You write C." "$models/lora-a.gguf" 1 "$p")" ] || bad "coder differs from synapse run"
[ "$(api_answer synapse/poet "$p")" = "$(run_answer "You write poems." "$models/lora-b.gguf" 0.5 "$p")" ] || bad "poet differs from synapse run"
[ "$(api_answer synapse/plain "$p")" = "$(run_answer "You answer plainly." "" "" "$p")" ] || bad "plain differs from synapse run"
[ "$(api_answer synapse/coder "$p")" != "$(api_answer synapse/plain "$p")" ] || bad "coder's adapter changed nothing"

# four at once equal each alone
for m in synapse synapse/coder synapse/poet synapse/plain; do api_answer "$m" "$p" >"$work/alone-${m#*/}"; done
clients=""
for m in synapse synapse/coder synapse/poet synapse/plain; do
    api_answer "$m" "$p" >"$work/together-${m#*/}" &
    clients="$clients $!"
done
wait $clients
for m in synapse coder poet plain; do
    cmp -s "$work/alone-$m" "$work/together-$m" || bad "$m together differs from alone"
done

# the coder's requests share its system prompt: all but the first reuse it
curl -s "http://127.0.0.1:$port/metrics" >"$work/metrics"
cached=$(sed -n 's/^synapse_specialist_prompt_tokens_total{specialist="coder",source="cache"} //p' "$work/metrics")
computed=$(sed -n 's/^synapse_specialist_prompt_tokens_total{specialist="coder",source="computed"} //p' "$work/metrics")
reqs=$(sed -n 's/^synapse_specialist_requests_total{specialist="coder"} //p' "$work/metrics")
[ "${reqs:-0}" -eq 4 ] && [ "${cached:-0}" -gt 10 ] && [ "${computed:-0}" -gt 0 ] ||
    bad "coder's metrics: requests $reqs, cached $cached, computed $computed"

# a specialist with a long system prompt: its keys and values are computed
# for the first request only; the next ones, on other questions, find all
# of it in the prefix cache (the pages stay cached once nobody holds them)
long=$(node -e 'process.stdout.write(Array.from({length: 40}, (_, i) => "Rule " + i + ": answer briefly.").join(" "))')
expect 201 POST /api/specialists "{\"name\":\"longsys\",\"system_prompt\":\"$long\"}"
for q in "first question" "a second one" "and a third"; do
    curl -s -m 120 -H 'Content-Type: application/json' "http://127.0.0.1:$port/v1/chat/completions" \
        --data-binary "{\"model\":\"synapse/longsys\",\"messages\":[{\"role\":\"user\",\"content\":\"$q\"}],\"max_tokens\":4,\"temperature\":0}" >"$work/long-$q"
done
prompt1=$(node -e 'process.stdout.write(String(JSON.parse(require("fs").readFileSync(process.argv[1])).usage.prompt_tokens))' "$work/long-first question")
curl -s "http://127.0.0.1:$port/metrics" >"$work/metrics"
cached=$(sed -n 's/^synapse_specialist_prompt_tokens_total{specialist="longsys",source="cache"} //p' "$work/metrics")
pages=$(sed -n 's/^synapse_kv_pages{state="cached"} //p' "$work/metrics")
# the user turn differs after the system prompt: at most ~20 tokens of
# template and question are the request's own
[ "${prompt1:-0}" -gt 300 ] && [ "${cached:-0}" -ge $((2 * (prompt1 - 20))) ] ||
    bad "longsys: prompt $prompt1 tokens, $cached reused over two requests"
[ "${pages:-0}" -gt 0 ] && grep -q '^synapse_kv_page_tokens 32$' "$work/metrics" ||
    bad "kv page metrics: $(grep synapse_kv_page "$work/metrics")"
expect 200 GET /api/status
grep -q '"kv_pages":{"page_tokens":32,' "$work/body" || bad "status: $(cat "$work/body")"
expect 200 DELETE /api/specialists/longsys

# runtime changes
expect 201 POST /api/specialists "{\"name\":\"extra\",\"system_prompt\":\"You are extra.\",\"adapter\":\"$models/lora-b.gguf\",\"capabilities\":[\"x\"]}"
[ "$(api_answer synapse/extra "$p")" = "$(run_answer "You are extra." "$models/lora-b.gguf" 1 "$p")" ] || bad "extra differs from synapse run"
expect 200 GET /api/specialists/extra
grep -q '"rank":16' "$work/body" || bad "GET extra: $(cat "$work/body")"
expect 200 GET /api/specialists
grep -q '"name":"coder"' "$work/body" && grep -q '"name":"extra"' "$work/body" || bad "GET list: $(cat "$work/body")"
expect 200 POST /api/specialists '{"name":"extra","system_prompt":"You are extra, again."}'
grep -q '"adapter":null' "$work/body" || bad "replace kept the adapter: $(cat "$work/body")"
expect 400 POST /api/specialists "{\"name\":\"broken\",\"adapter\":\"$model\"}"
grep -q "specialist 'broken': .*qwen2-f16.gguf" "$work/body" || bad "a model as adapter: $(cat "$work/body")"
expect 400 POST /api/specialists "{\"name\":\"other\",\"adapter\":\"$models/../../../nonexistent.gguf\"}"
expect 400 POST /api/specialists '{"name":"nope","adapter":"missing-adapter"}'
grep -q "missing-adapter" "$work/body" || bad "missing adapter not named: $(cat "$work/body")"
expect 400 POST /api/specialists '{"name":"Bad Name"}'
expect 400 POST /api/specialists '{"name":"x","colour":"red"}'
grep -q "colour" "$work/body" || bad "unknown field not named"
expect 400 POST /api/specialists '{"name":"x","base_model":"other.gguf"}'
expect 400 POST /api/specialists '{"name":"x","adapter_scale":"big"}'
expect 400 POST /api/specialists '{"name":"x"'
expect 404 GET /api/specialists/ghost specialist_not_found
expect 404 DELETE /api/specialists/ghost specialist_not_found
expect 405 PUT /api/specialists/extra
expect 404 POST /v1/chat/completions '{"model":"synapse/ghost","messages":[{"role":"user","content":"hi"}]}' model_not_found

# a delete while a long request of that specialist runs (about 2,000 tokens,
# a second or more): it completes with the adapter it started with (its
# answer is the one it gave before the delete), and the next is 404
expect 200 POST /api/specialists "{\"name\":\"extra\",\"adapter\":\"$models/lora-b.gguf\"}"
api_answer synapse/extra "go on" 1900 >"$work/long-before"
api_answer synapse/extra "go on" 1900 >"$work/long-during" &
cpid=$!
sleep 0.2
expect 200 DELETE /api/specialists/extra
wait $cpid
[ "$(wc -c <"$work/long-before")" -gt 1000 ] || bad "the long answer is short: $(cat "$work/long-before")"
cmp -s "$work/long-before" "$work/long-during" || bad "the request in flight during the delete changed its answer"
expect 404 POST /v1/chat/completions '{"model":"synapse/extra","messages":[{"role":"user","content":"hi"}]}' model_not_found

# the file keeps the user's comments and now holds 'kept'
expect 201 POST /api/specialists '{"name":"kept","description":"stays \"quoted\" across a restart","examples":["a: b","- c"]}'
grep -q "my own comment" "$work/spec.yaml" && grep -q "a comment after the list" "$work/spec.yaml" || bad "comments lost: $(cat "$work/spec.yaml")"
grep -q "extra" "$work/spec.yaml" && bad "deleted specialist still in the file"
stop $last spec

# a restart serves what the API left in the file
start again --config "$work/spec.yaml" --model "$model" --chat-template chatml --threads 1 --api-key test-key
expect 200 GET /api/specialists/kept
grep -q 'stays \\"quoted\\" across a restart' "$work/body" || bad "kept after restart: $(cat "$work/body")"
grep -q '"- c"' "$work/body" || bad "examples after restart: $(cat "$work/body")"
expect 200 GET /api/specialists/coder
stop $last again

# bad configurations stop the start, naming the specialist
bad_cfg() { # WHAT YAML-LINES
    printf 'data_dir: %s\nspecialists:\n%s\n' "$home" "$2" >"$work/bad.yaml"
    if SYNAPSE_HOME="$home" timeout 60 "$synapse" serve --port 0 --config "$work/bad.yaml" --model "$model" \
        --threads 1 >"$work/bad.log" 2>&1; then
        bad "$1: the server started"
    fi
    grep -q "$3" "$work/bad.log" || bad "$1: the error does not say '$3': $(cat "$work/bad.log")"
}
bad_cfg "missing adapter" "  - name: lost
    adapter: nowhere" "specialist 'lost'"
bad_cfg "adapter of another shape" "  - name: wrongshape
    adapter: $models/qwen2-Q8_0.gguf" "wrongshape"
bad_cfg "duplicate" "  - name: twin
  - name: twin" "defined twice"
bad_cfg "bad name" "  - name: Twin" "must be 1 to 64"
bad_cfg "base_model" "  - name: other
    base_model: x.gguf" "base_model"
bad_cfg "unknown key" "  - name: other
    colour: red" "specialists.colour"
finish test_specialists
