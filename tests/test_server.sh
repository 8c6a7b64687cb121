#!/bin/sh
# `synapse serve` end to end: config handling, every error status in
# OpenAI's shape (curl), the OpenAI client suite (tests/server/openai.mjs,
# with the official `openai` npm package installed into the build tree),
# and a clean exit on SIGTERM. Skips (77) only without node/npm.
top=${top_builddir:-.}
src=${top_srcdir:-.}
synapse="$top/synapse"
model="${SYN_TESTDATA:-$src/../shared/testdata}/models/qwen2-chat-Q8_0.gguf"
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || { echo "node/npm not found: skipped"; exit 77; }
command -v curl >/dev/null 2>&1 || { echo "curl not found"; exit 1; }

work=$(mktemp -d) || exit 99
pids=""
cleanup() {
    for p in $pids; do kill "$p" 2>/dev/null; done
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
fail=0
bad() { echo "FAIL: $*" >&2; fail=1; }

# node_modules lives in the build tree, installed once
mods="$(cd "$top" && pwd)/tests/server-node/node_modules"
if [ ! -d "$mods/openai" ]; then
    mkdir -p "$top/tests/server-node"
    (cd "$top/tests/server-node" && timeout 180 npm install --no-save --no-audit --no-fund openai >/dev/null 2>&1) ||
        { echo "npm install openai failed" >&2; exit 1; }
fi

# start NAME ARGS...: runs the server on a free port, sets $port
start() {
    name=$1; shift
    SYNAPSE_HOME="$work/home-$name" timeout 300 "$synapse" serve --port 0 "$@" >"$work/$name.log" 2>&1 &
    last=$!
    pids="$pids $last"
    i=0
    while ! grep -q 'listening on' "$work/$name.log" 2>/dev/null; do
        i=$((i + 1))
        if [ $i -gt 100 ] || ! kill -0 $last 2>/dev/null; then
            cat "$work/$name.log" >&2
            echo "server $name did not start" >&2
            exit 1
        fi
        sleep 0.1
    done
    port=$(sed -n 's/.*listening on http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$work/$name.log")
}

# stop PID NAME: SIGTERM must end the server cleanly (exit 0, no sanitizer report)
stop() {
    kill -TERM "$1"
    i=0
    while kill -0 "$1" 2>/dev/null && [ $i -lt 150 ]; do sleep 0.1; i=$((i + 1)); done
    wait "$1"; rc=$?
    [ $rc -eq 0 ] || { bad "server $2 exited $rc on SIGTERM"; cat "$work/$2.log" >&2; }
    grep -q 'shutting down' "$work/$2.log" || bad "server $2: no shutdown message"
}

# status METHOD PATH BODY -> prints "STATUS BODY"
req() {
    curl -s -m 60 -o "$work/body" -w '%{http_code}' -X "$1" -H 'Content-Type: application/json' \
        -H 'Authorization: Bearer test-key' "http://127.0.0.1:$port$2" ${3:+--data-binary "$3"}
}
expect() { # STATUS METHOD PATH BODY [CODE]
    got=$(req "$2" "$3" "$4")
    if [ "$got" != "$1" ]; then
        bad "$2 $3 $(echo "$4" | cut -c1-60): status $got, wanted $1: $(cat "$work/body")"
    elif [ "$1" -ge 400 ] && ! node -e '
        const e = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).error;
        if (typeof e.message !== "string" || typeof e.type !== "string" || !("param" in e) || !("code" in e)) process.exit(1);
        if (process.argv[2] && e.code !== process.argv[2]) process.exit(1);' "$work/body" "$5"; then
        bad "$2 $3: not an OpenAI error${5:+ with code $5}: $(cat "$work/body")"
    fi
}

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
expect 200 GET /health
expect 503 POST /v1/chat/completions '{"model":"synapse","messages":[{"role":"user","content":"hi"}]}' model_not_loaded
expect 200 GET /v1/models
stop $last nomodel

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
if grep -q 'ERROR: \(AddressSanitizer\|LeakSanitizer\)' "$work"/*.log; then
    bad "sanitizer report"; cat "$work"/*.log >&2
fi
[ $fail -eq 0 ] && echo "server tests passed"
exit $fail
