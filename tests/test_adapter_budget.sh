#!/bin/sh
# Adapter memory under limits.adapter_bytes: three specialists (lora-a as
# GGUF, lora-b, lora-a as a PEFT directory) with room for about two of
# lora-a or one lora-b. Adapters no request holds are evicted, least
# recently used first, and loaded again when asked for: the answers stay
# the same (and equal `synapse run --lora`), the PEFT copy answers as the
# GGUF one, three at once are all served (over the budget while they run),
# the loaded bytes come back under the budget when idle, and /metrics and
# GET /api/specialists say what is loaded.
top=${top_builddir:-.}
src=${top_srcdir:-.}
synapse="$top/synapse"
models="${SYN_TESTDATA:-$src/../shared/testdata}/models"
model="$models/qwen2-f16.gguf"
command -v node >/dev/null 2>&1 || { echo "node not found: skipped"; exit 77; }
command -v curl >/dev/null 2>&1 || { echo "curl not found"; exit 1; }
. "$src/tests/server/lib.sh"

# lora-a (rank 8) takes 311,296 bytes here, lora-b (rank 16) 622,592
budget=700000
mkdir -p "$work/peft-a"
"$top/tests/test_lora_peft" --write-peft "$work/peft-a" || bad "writing the PEFT copy"
cat >"$work/budget.yaml" <<YAML
limits:
  adapter_bytes: $budget
specialists:
  - name: a
    system_prompt: "You write C."
    adapter: $models/lora-a.gguf
  - name: b
    system_prompt: "You write C."
    adapter: $models/lora-b.gguf
  - name: p
    system_prompt: "You write C."
    adapter: $work/peft-a
YAML

api_answer() {
    curl -s -m 120 -H 'Content-Type: application/json' "http://127.0.0.1:$port/v1/chat/completions" \
        --data-binary "{\"model\":\"$1\",\"messages\":[{\"role\":\"user\",\"content\":\"tell me about the sea\"}],\"max_tokens\":8,\"temperature\":0}" |
        node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const o=JSON.parse(s);if(!o.choices)console.error(s);process.stdout.write(o.choices[0].message.content+"\n")})'
}
metric() { curl -s "http://127.0.0.1:$port/metrics" | sed -n "s/^$1 //p"; }

start budget --config "$work/budget.yaml" --model "$model" --chat-template chatml --parallel 4 --ctx-size 1024 --threads 1
# loading the three at start left one lora-b's worth at most
[ "$(metric synapse_adapter_budget_bytes)" = $budget ] || bad "budget gauge: $(metric synapse_adapter_budget_bytes)"
[ "$(metric synapse_adapter_bytes)" -le $budget ] || bad "over the budget at start: $(metric synapse_adapter_bytes)"
[ "$(metric synapse_adapter_evictions_total)" -ge 1 ] || bad "nothing evicted at start"

want_a=$("$synapse" run -m "$model" --chat-template chatml --threads 1 --temperature 0 -n 8 --system "You write C." \
    --lora "$models/lora-a.gguf" -p "tell me about the sea" 2>/dev/null)
first_a=$(api_answer synapse/a)
first_b=$(api_answer synapse/b)
first_p=$(api_answer synapse/p)
[ "$first_a" = "$want_a" ] || bad "a differs from synapse run: '$first_a' vs '$want_a'"
[ "$first_p" = "$first_a" ] || bad "the PEFT copy answers '$first_p', the GGUF one '$first_a'"
[ "$first_b" != "$first_a" ] || bad "b answers as a (the adapters change nothing?)"
# round and round: every turn evicts one and reloads another
for turn in 1 2; do
    [ "$(api_answer synapse/a)" = "$first_a" ] || bad "a changed after a reload (turn $turn)"
    [ "$(api_answer synapse/b)" = "$first_b" ] || bad "b changed after a reload (turn $turn)"
    [ "$(api_answer synapse/p)" = "$first_p" ] || bad "p changed after a reload (turn $turn)"
done
[ "$(metric synapse_adapter_reloads_total)" -ge 3 ] || bad "reloads: $(metric synapse_adapter_reloads_total)"
[ "$(metric synapse_adapter_evictions_total)" -ge 4 ] || bad "evictions: $(metric synapse_adapter_evictions_total)"

# all three at once: none waits for the budget, each answers as alone
for m in a b p; do api_answer "synapse/$m" >"$work/together-$m" & done
for m in a b p; do
    i=0
    while [ ! -s "$work/together-$m" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
done
[ "$(cat "$work/together-a")" = "$first_a" ] || bad "a together: '$(cat "$work/together-a")'"
[ "$(cat "$work/together-b")" = "$first_b" ] || bad "b together: '$(cat "$work/together-b")'"
[ "$(cat "$work/together-p")" = "$first_p" ] || bad "p together: '$(cat "$work/together-p")'"
# idle again: the next request brings the loaded bytes back under the budget
api_answer synapse/a >/dev/null
[ "$(metric synapse_adapter_bytes)" -le $budget ] || bad "over the budget when idle: $(metric synapse_adapter_bytes)"
[ "$(metric synapse_adapters_loaded)" -ge 1 ] || bad "adapters loaded: $(metric synapse_adapters_loaded)"
# GET /api/specialists: a was just used, so it is resident; every adapter has its rank
curl -s "http://127.0.0.1:$port/api/specialists/a" | node -e '
let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const o=JSON.parse(s);const a=o.adapter_loaded;
if(!a||a.resident!==true||a.rank!==8)throw new Error(s)})' || bad "GET /api/specialists/a"
curl -s "http://127.0.0.1:$port/api/specialists" | node -e '
let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const o=JSON.parse(s);const l=o.data||o.specialists||o;
const r=l.filter(x=>x.adapter_loaded&&x.adapter_loaded.resident).length;if(l.length!==3||r<1||r>2)throw new Error(s)})' ||
    bad "GET /api/specialists: resident flags"
stop $last budget
finish test_adapter_budget
