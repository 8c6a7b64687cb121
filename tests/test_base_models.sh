#!/bin/sh
# Specialists on other base models (base_model): each distinct file loads
# once, with its own scheduler, and is listed in /v1/models (by the model's
# name, or its file's when that is taken); a specialist's answer on it
# equals `synapse run -m THAT --system --lora`; the base's own id answers as
# `synapse run -m THAT`; a base_model naming the server's own file shares
# it; POST /api/specialists loads a new one at runtime and writes it to the
# config; a missing file or an adapter of another shape is refused (400).
top=${top_builddir:-.}
src=${top_srcdir:-.}
synapse="$top/synapse"
models="${SYN_TESTDATA:-$src/../shared/testdata}/models"
model="$models/qwen2-f16.gguf"
command -v node >/dev/null 2>&1 || { echo "node not found: skipped"; exit 77; }
command -v curl >/dev/null 2>&1 || { echo "curl not found"; exit 1; }
. "$src/tests/server/lib.sh"

mkdir -p "$work/models"
cp "$models/qwen2-Q4_0.gguf" "$work/models/"
cat >"$work/bases.yaml" <<YAML
models_dir: $work/models
specialists:
  - name: eight
    system_prompt: "You write C."
    adapter: $models/lora-a.gguf
    base_model: $models/qwen2-Q8_0.gguf
  - name: same
    system_prompt: "You write C."
    base_model: $model
YAML

# the answer of MODEL to "tell me about the sea", with a system prompt and adapter when given
run_answer() {
    "$synapse" run -m "$1" --chat --chat-template chatml --threads 1 --temperature 0 -n 8 ${2:+--system "$2"} \
        ${3:+--lora "$3"} -p "tell me about the sea" 2>/dev/null
}
api_answer() {
    curl -s -m 120 -H 'Content-Type: application/json' "http://127.0.0.1:$port/v1/chat/completions" \
        --data-binary "{\"model\":\"$1\",\"messages\":[{\"role\":\"user\",\"content\":\"tell me about the sea\"}],\"max_tokens\":8,\"temperature\":0}" |
        node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const o=JSON.parse(s);if(!o.choices)console.error(s);process.stdout.write(o.choices[0].message.content+"\n")})'
}
model_ids() {
    curl -s "http://127.0.0.1:$port/v1/models" | node -e '
let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).data.map(m=>m.id).join(" ")))'
}

start bases --config "$work/bases.yaml" --model "$model" --chat-template chatml --parallel 2 --ctx-size 1024 --threads 1
ids=$(model_ids)
[ "$ids" = "synapse synthetic-qwen2-256,768,2,4,2 qwen2-Q8_0 synapse/eight synapse/same" ] || bad "/v1/models: $ids"

[ "$(api_answer synapse/eight)" = "$(run_answer "$models/qwen2-Q8_0.gguf" "You write C." "$models/lora-a.gguf")" ] ||
    bad "eight differs from synapse run on qwen2-Q8_0"
[ "$(api_answer qwen2-Q8_0)" = "$(run_answer "$models/qwen2-Q8_0.gguf")" ] || bad "qwen2-Q8_0 differs from synapse run"
[ "$(api_answer synapse/same)" = "$(run_answer "$model" "You write C.")" ] || bad "same differs from synapse run"
[ "$(api_answer synapse/eight)" != "$(api_answer synapse/same)" ] || bad "eight answers as same (one base for both?)"

# at runtime: a name under models_dir loads a third base, kept in the config
expect 201 POST /api/specialists '{"name":"four","system_prompt":"You write C.","base_model":"qwen2-Q4_0"}'
[ "$(model_ids)" = "synapse synthetic-qwen2-256,768,2,4,2 qwen2-Q8_0 qwen2-Q4_0 synapse/eight synapse/same synapse/four" ] ||
    bad "/v1/models after POST: $(model_ids)"
[ "$(api_answer synapse/four)" = "$(run_answer "$work/models/qwen2-Q4_0.gguf" "You write C.")" ] ||
    bad "four differs from synapse run on qwen2-Q4_0"
grep -q "base_model: \"\?qwen2-Q4_0" "$work/bases.yaml" || bad "the config lacks four's base_model: $(cat "$work/bases.yaml")"
# refused: no such file; an adapter of another shape for that base
expect 400 POST /api/specialists '{"name":"lost","base_model":"nowhere.gguf"}'
grep -q "base_model 'nowhere.gguf'" "$work/body" || bad "the error does not name base_model: $(cat "$work/body")"
expect 400 POST /api/specialists "{\"name\":\"odd\",\"adapter\":\"$models/lora-a.gguf\",\"base_model\":\"$models/qwen2-chat-Q8_0.gguf\"}"
stop $last bases
finish test_base_models
