#!/bin/sh
# The cloud fallback against a real upstream, a second `synapse serve` (on
# another model, with an API key): mode always serves the upstream's answer
# (streamed through when the client streams) and keeps it as a preference
# pair over the local one; auto goes upstream when the local answer's
# confidence is below the threshold, then, once the record predicts it,
# before anything runs locally; never and a threshold of 0 never call it;
# an upstream that is down, slow or refuses the key leaves the local
# answer with the reason; bad cloud: settings are refused by name.
top=${top_builddir:-.}
src=${top_srcdir:-.}
synapse="$top/synapse"
models="${SYN_TESTDATA:-$src/../shared/testdata}/models"
model="$models/qwen2-f16.gguf"
command -v node >/dev/null 2>&1 || { echo "node not found: skipped"; exit 77; }
command -v curl >/dev/null 2>&1 || { echo "curl not found"; exit 1; }
. "$src/tests/server/lib.sh"

body() { # PROMPT [STREAM]
    echo "{\"model\":\"synapse\",\"messages\":[{\"role\":\"user\",\"content\":\"$1\"}],\"max_tokens\":5,\"temperature\":0${2:+,\"stream\":true}}"
}
# ask PORT PROMPT [STREAM]: the answer in $work/ans
ask() {
    curl -s -N -m 60 -o "$work/ans" -H 'Content-Type: application/json' -H 'Authorization: Bearer cloud-secret' \
        "http://127.0.0.1:$1/v1/chat/completions" --data-binary "$(body "$2" "$3")"
}
content() { js "$work/ans" o.choices[0].message.content; }
mode() { js "$work/ans" o.synapse.route.mode; }
reason() { js "$work/ans" o.synapse.route.reason; }
# the text and last chunk of a stream in $work/ans
stream_text() { grep '^data: {' "$work/ans" | sed 's/^data: //' | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{let t="";for(const l of s.trim().split("\n")){const o=JSON.parse(l);for(const c of o.choices||[])t+=(c.delta&&c.delta.content)||""}process.stdout.write(t)})'; }
stream_last() { grep '^data: {' "$work/ans" | tail -1 | sed 's/^data: //' >"$work/last"; }
upstream_answers() { curl -s -H 'Authorization: Bearer cloud-secret' "http://127.0.0.1:$up/api/routes?limit=1000" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>process.stdout.write(String(JSON.parse(s).data.length)))'; }

# the upstream: another model, behind a key
printf 'api_keys: [cloud-secret]\n' >"$work/up.yaml"
start up --config "$work/up.yaml" --model "$models/llama-Q8_0.gguf" --chat-template chatml --threads 1
up=$port
ask $up "debug this"
want=$(content)
ask $up "debug this" 1
want_stream=$(stream_text)

spec='specialists:
  - name: coder
    capabilities: [debug]'
local_server() { # NAME CLOUD-YAML
    printf '%s\ncloud:\n%s\n' "$spec" "$2" >"$work/$1.yaml"
    SYNAPSE_CLOUD_KEY=cloud-secret start "$1" --config "$work/$1.yaml" --model "$model" --chat-template chatml --threads 1
}

# always: the upstream answers, the local answer is the pair's rejected one
local_server always "  api_base: http://127.0.0.1:$up/v1
  model: synapse
  mode: always"
ask $port "debug this"
[ "$(mode)" = cloud ] && [ "$(content)" = "$want" ] || bad "always: $(cat "$work/ans")"
[ "$(js "$work/ans" o.synapse.confidence)" = null ] || bad "an upstream answer's confidence is not null"
id=$(js "$work/ans" o.id)
curl -s -m 60 -o "$work/mine" -H 'Content-Type: application/json' "http://127.0.0.1:$port/v1/chat/completions" \
    --data-binary '{"model":"synapse/coder","messages":[{"role":"user","content":"debug this"}],"max_tokens":5,"temperature":0}'
[ "$(js "$work/mine" o.synapse.route.mode)" = single ] || bad "a named specialist went upstream: $(cat "$work/mine")"
expect 200 GET /api/preferences
node -e '
const [f, chosen, rejected] = process.argv.slice(1), p = JSON.parse(require("fs").readFileSync(f, "utf8")).data[0];
process.exit(p.source === "cloud" && p.chosen === chosen && p.rejected === rejected && p.prompt === "debug this" &&
  p.specialist === "coder" ? 0 : 1)' "$work/body" "$want" "$(js "$work/mine" o.choices[0].message.content)" ||
    bad "the cloud pair: $(cat "$work/body")"
[ "$want" != "$(js "$work/mine" o.choices[0].message.content)" ] || bad "the upstream and the local model answer the same: the test shows nothing"
# the upstream's answer is recorded as served: it can be rated
expect 201 POST /api/feedback "{\"response_id\":\"$id\",\"rating\":1}"
# streamed through
ask $port "debug this" 1
stream_last
[ "$(stream_text)" = "$want_stream" ] || bad "always, streamed: '$(stream_text)' is not the upstream's '$want_stream'"
js "$work/last" 'o.synapse.route.mode === "cloud" && o.synapse.confidence === null' | grep -q true ||
    bad "always, streamed: the last chunk $(cat "$work/last")"
tail -1 "$work/ans" | grep -q . || true
grep -q '^data: \[DONE\]' "$work/ans" || bad "always, streamed: no [DONE]"
stop $last always

# auto: below the threshold after the local answer, then predicted before it
local_server auto "  api_base: http://127.0.0.1:$up/v1
  model: synapse
  mode: auto
  threshold: 0.99"
for k in 1 2 3; do
    ask $port "debug this"
    [ "$(mode)" = cloud ] && [ "$(content)" = "$want" ] || bad "auto, request $k: $(cat "$work/ans")"
    reason | grep -q "local answer's confidence 0\.[0-9]* is below the threshold 0.99" || bad "auto, request $k: reason $(reason)"
done
ask $port "debug this"
[ "$(mode)" = cloud ] && reason | grep -q "predicted confidence 0\.[0-9]* of coder in 'debug' is below the threshold" ||
    bad "auto, predicted: $(cat "$work/ans")"
expect 200 GET "/api/routes?limit=1"
js "$work/body" 'o.data[0].scores[0].pathway < 0' | grep -q true || bad "a needed fallback did not weaken the pathway: $(cat "$work/body")"
expect 200 GET /api/confidence
js "$work/body" 'o.data.find(x => x.specialist === "coder").answers === 3' | grep -q true ||
    bad "the local answers' record: $(cat "$work/body")"
# a rating of the upstream's answer is no local specialist's
expect 201 POST /api/feedback "{\"response_id\":\"$(js "$work/ans" o.id)\",\"rating\":1}"
expect 200 GET /api/confidence
js "$work/body" 'o.data.find(x => x.specialist === "coder").rated === 0' | grep -q true ||
    bad "a rating of an upstream answer went to coder: $(cat "$work/body")"
# an answer held to a schema stays local: the upstream would not keep it
curl -s -m 60 -o "$work/ans" -H 'Content-Type: application/json' "http://127.0.0.1:$port/v1/chat/completions" \
    --data-binary '{"model":"synapse","messages":[{"role":"user","content":"debug this"}],"max_tokens":5,"temperature":0,"response_format":{"type":"json_object"}}'
[ "$(mode)" = single ] || bad "a json_object answer went upstream: $(cat "$work/ans")"
stop $last auto

# a threshold of 0 and mode never keep everything local
n0=$(upstream_answers)
local_server zero "  api_base: http://127.0.0.1:$up/v1
  model: synapse
  mode: auto
  threshold: 0"
ask $port "debug this"
[ "$(mode)" = single ] || bad "threshold 0: $(cat "$work/ans")"
stop $last zero
local_server never "  api_base: http://127.0.0.1:$up/v1
  model: synapse
  mode: never"
ask $port "debug this"
[ "$(mode)" = single ] || bad "never: $(cat "$work/ans")"
stop $last never
[ "$(upstream_answers)" = "$n0" ] || bad "threshold 0 or mode never called the upstream"

# the upstream refuses the key, is down, or is too slow: the local answer
printf '%s\ncloud:\n  api_base: http://127.0.0.1:%s/v1\n  model: synapse\n  mode: always\n' "$spec" "$up" >"$work/key.yaml"
SYNAPSE_CLOUD_KEY=wrong start key --config "$work/key.yaml" --model "$model" --chat-template chatml --threads 1
ask $port "debug this"
[ "$(mode)" = single ] && reason | grep -q "upstream answered 401" || bad "a refused key: $(cat "$work/ans")"
stop $last key
node -e 'const s=require("net").createServer(()=>{}).listen(0,"127.0.0.1",()=>{console.log(s.address().port)})' >"$work/slow.port" &
slow=$!
pids="$pids $slow"
i=0; while [ ! -s "$work/slow.port" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
local_server slow "  api_base: http://127.0.0.1:$(cat "$work/slow.port")/v1
  model: synapse
  mode: always
  timeout_s: 1"
t0=$(date +%s)
ask $port "debug this"
[ "$(mode)" = single ] && reason | grep -q "upstream timed out after 1 s" || bad "a slow upstream: $(cat "$work/ans")"
[ $(( $(date +%s) - t0 )) -lt 10 ] || bad "a slow upstream held the request"
ask $port "debug this" 1
stream_last
js "$work/last" 'o.synapse.route.mode === "single" && /timed out/.test(o.synapse.route.reason)' | grep -q true ||
    bad "a slow upstream, streamed: $(cat "$work/last")"
[ -n "$(stream_text)" ] || bad "a slow upstream, streamed: no local answer"
stop $last slow
kill $slow 2>/dev/null
# an upstream that answers a stream with no stream: the local answer
node -e 'const s=require("http").createServer((q,r)=>{r.writeHead(200,{"Content-Type":"application/json"});r.end("{\"choices\":[]}")}).listen(0,"127.0.0.1",()=>{console.log(s.address().port)})' >"$work/odd.port" &
odd=$!
pids="$pids $odd"
i=0; while [ ! -s "$work/odd.port" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
local_server odd "  api_base: http://127.0.0.1:$(cat "$work/odd.port")/v1
  model: synapse
  mode: always"
ask $port "debug this" 1
stream_last
js "$work/last" 'o.synapse.route.mode === "single" && /held no answer/.test(o.synapse.route.reason)' | grep -q true ||
    bad "a stream with no answer: $(cat "$work/last")"
ask $port "debug this"
[ "$(mode)" = single ] && reason | grep -q "no choices\[0\].message.content" || bad "an answer without content: $(cat "$work/ans")"
stop $last odd
kill $odd 2>/dev/null
stop_up_port=$up
stop $(echo $pids | cut -d' ' -f1) up
local_server down "  api_base: http://127.0.0.1:$stop_up_port/v1
  model: synapse
  mode: always"
ask $port "debug this"
[ "$(mode)" = single ] && reason | grep -q "upstream is unreachable" || bad "an upstream down: $(cat "$work/ans")"
stop $last down

# bad cloud: settings, each refused by name
bad_cloud() { # YAML MESSAGE
    printf 'cloud: %s\n' "$1" >"$work/bad.yaml"
    SYNAPSE_HOME="$work/home-bad" timeout 60 "$synapse" serve --port 0 --config "$work/bad.yaml" >"$work/bad.log" 2>&1
    rc=$?
    [ $rc -ne 0 ] && grep -q "$2" "$work/bad.log" || bad "cloud: $1: rc $rc: $(cat "$work/bad.log")"
}
bad_cloud "true" "says nothing of the upstream"
bad_cloud "{mode: always}" "needs api_base: and model:"
bad_cloud "{api_base: ftp://x, model: m, mode: auto}" "cloud.api_base' must be an http"
bad_cloud "{api_base: http://x, model: m, mode: sometimes}" "cloud.mode' must be auto, always or never"
bad_cloud "{api_base: http://x, model: m, threshold: 2}" "threshold"
bad_cloud "{api_base: http://x, model: m, retries: 3}" "unknown key 'cloud.retries'"
finish test_cloud
