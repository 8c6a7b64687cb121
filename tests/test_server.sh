#!/bin/sh
# `synapse serve` end to end: config handling, every error status in
# OpenAI's shape (curl), the OpenAI client suites (tests/server/openai.mjs
# for chat, completions and embeddings, responses.mjs for the Responses API,
# with the official `openai` npm package installed into the build tree),
# and a clean exit on SIGTERM. Skips (77) only without node/npm.
top=${top_builddir:-.}
src=${top_srcdir:-.}
synapse="$top/synapse"
model="${SYN_TESTDATA:-$src/../shared/testdata}/models/qwen2-chat-Q8_0.gguf"
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || { echo "node/npm not found: skipped"; exit 77; }
command -v curl >/dev/null 2>&1 || { echo "curl not found"; exit 1; }

. "$src/tests/server/lib.sh"

node_packages

# --- configuration
mkdir -p "$work/cfg"
printf 'port: 6900\nparallel: lots\n' >"$work/cfg/bad.yaml"
if SYNAPSE_HOME="$work/cfg" "$synapse" serve --config "$work/cfg/bad.yaml" 2>"$work/err"; then
    bad "an invalid config was accepted"
fi
grep -q 'bad.yaml:2:.*parallel' "$work/err" || bad "config error without file:line: $(cat "$work/err")"
printf 'port: [1\n' >"$work/cfg/syntax.yaml"
SYNAPSE_HOME="$work/cfg" "$synapse" serve --config "$work/cfg/syntax.yaml" 2>"$work/err" && bad "YAML syntax error accepted"
grep -q 'syntax.yaml:[0-9]*:' "$work/err" || bad "YAML syntax error without a line: $(cat "$work/err")"
printf 'colour: blue\n' >"$work/cfg/unknown.yaml"
SYNAPSE_HOME="$work/cfg" "$synapse" serve --config "$work/cfg/unknown.yaml" 2>"$work/err" && bad "unknown key accepted"
grep -q "unknown.yaml:1: unknown key 'colour'" "$work/err" || bad "unknown key message: $(cat "$work/err")"

# --- no model: starts, writes the default config, 503 on inference routes
start nomodel
[ -f "$work/home-nomodel/config.yaml" ] || bad "no default config written on first run"
cmp -s "$work/home-nomodel/config.yaml" "$src/share/config.yaml" ||
    bad "the config written on first run is not share/config.yaml"
expect 200 GET /health
expect 503 POST /v1/chat/completions '{"model":"synapse","messages":[{"role":"user","content":"hi"}]}' model_not_loaded
expect 200 GET /v1/models
stop $last nomodel

# --- a model named in data_dir's models/ (models_dir follows data_dir)
mkdir -p "$work/dd/models" && ln -s "$model" "$work/dd/models/tiny.gguf"
printf 'data_dir: %s\nmodel: tiny.gguf\n' "$work/dd" >"$work/cfg/dd.yaml"
start datadir --config "$work/cfg/dd.yaml"
grep -q "dd/models/tiny.gguf" "$work/datadir.log" || bad "model not looked up in data_dir/models: $(cat "$work/datadir.log")"
stop $last datadir

# --- a real (tiny) model
start main --model "$model" --parallel 4 --ctx-size 256 --api-key test-key --threads 1
chat='{"model":"synapse","messages":[{"role":"user","content":"hi"}],"max_tokens":4,"temperature":0}'
expect 200 POST /v1/chat/completions "$chat"
expect 400 POST /v1/chat/completions '{"model":"synapse","messages":[' 
expect 400 POST /v1/chat/completions '[1,2]'
expect 400 POST /v1/chat/completions '{"model":"synapse"}'
expect 400 POST /v1/chat/completions '{"model":"synapse","messages":"hi"}'
expect 400 POST /v1/chat/completions '{"model":"synapse","messages":[{"role":"user","content":"hi"}],"temperature":"hot"}'
expect 400 POST /v1/chat/completions '{"model":"synapse","messages":[{"role":"user","content":"hi"}],"max_tokens":1.5}'
expect 400 POST /v1/chat/completions '{"model":"synapse","messages":[{"role":"wizard","content":"hi"}]}'
expect 400 POST /v1/chat/completions '{"model":7,"messages":[{"role":"user","content":"hi"}]}'
expect 404 POST /v1/chat/completions '{"model":"gpt-4","messages":[{"role":"user","content":"hi"}]}' model_not_found
long=$(head -c 4000 /dev/zero | tr '\0' 'a' | sed 's/a/word /g')
expect 400 POST /v1/completions "{\"model\":\"synapse\",\"prompt\":\"$long\"}" context_length_exceeded
head -c 5000000 /dev/zero | tr '\0' ' ' >"$work/big"
got=$(curl -s -m 60 -o "$work/body" -w '%{http_code}' -H 'Authorization: Bearer test-key' \
      --data-binary @"$work/big" "http://127.0.0.1:$port/v1/chat/completions")
[ "$got" = 413 ] || bad "5 MB body: status $got, wanted 413"
expect 405 GET /v1/chat/completions
expect 405 POST /health '{}'
expect 404 GET /v2/nothing
got=$(curl -s -m 10 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/v1/models")
[ "$got" = 401 ] || bad "no API key: status $got, wanted 401"
expect 200 GET /metrics
grep -q '^synapse_requests_total{route="/v1/chat/completions",status="400"}' "$work/body" || bad "metrics lack request counts"
grep -q '^synapse_ttft_seconds_bucket' "$work/body" || bad "metrics lack TTFT"
expect 200 GET /api/status

timeout 240 node "$src/tests/server/openai.mjs" "http://127.0.0.1:$port" "$mods" || bad "openai client suite"
timeout 240 node "$src/tests/server/responses.mjs" "http://127.0.0.1:$port" "$mods" || bad "responses client suite"
expect 200 GET /health
stop $last main

# --- queue full: one slot, one waiting place
start busy --model "$model" --parallel 1 --max-queue 1 --ctx-size 256 --threads 1
busy='{"model":"synapse","prompt":"x","max_tokens":200,"temperature":0}'
for i in 1 2 3 4 5 6; do
    curl -s -m 60 -o /dev/null -w '%{http_code}\n' -H 'Authorization: Bearer test-key' \
        --data-binary "$busy" "http://127.0.0.1:$port/v1/completions" >>"$work/codes" &
done
wait_n=0
while [ "$(wc -l <"$work/codes")" -lt 6 ] && [ $wait_n -lt 600 ]; do sleep 0.1; wait_n=$((wait_n + 1)); done
grep -q '^429$' "$work/codes" || bad "no 429 with a full queue: $(tr '\n' ' ' <"$work/codes")"
grep -q '^200$' "$work/codes" || bad "no request served while the queue was full"

# --- clean shutdown on SIGTERM
stop $last busy
finish "server tests"
