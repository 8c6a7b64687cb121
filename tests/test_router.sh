#!/bin/sh
# The router end to end: "model": "synapse" routes several wordings per
# specialist by whole-word capability matches (stems), says why in every
# answer (body "synapse", header X-Synapse-Specialist, the stream's last
# chunk), keeps each decision with every specialist's scores by signal in
# GET /api/routes; thumbs-down move the route between two specialists that
# score the same; confidence stays in [0, 1] and follows the ratings; GET
# /api/confidence counts them; and the router is a plugin a test double
# replaces through config plugins.router.
top=${top_builddir:-.}
src=${top_srcdir:-.}
synapse="$top/synapse"
models="${SYN_TESTDATA:-$src/../shared/testdata}/models"
model="$models/qwen2-f16.gguf"
command -v node >/dev/null 2>&1 || { echo "node not found: skipped"; exit 77; }
command -v curl >/dev/null 2>&1 || { echo "curl not found"; exit 1; }
. "$src/tests/server/lib.sh"

# chat MODEL PROMPT: the body in $work/body, the headers in $work/head
chat() {
    curl -s -m 60 -D "$work/head" -o "$work/body" -H 'Content-Type: application/json' \
        "http://127.0.0.1:$port/v1/chat/completions" \
        --data-binary "{\"model\":\"$1\",\"messages\":[{\"role\":\"user\",\"content\":\"$2\"}],\"max_tokens\":4,\"temperature\":0}"
}
header() { sed -n 's/^X-Synapse-Specialist: \([^\r]*\).*/\1/p' "$work/head"; }
# routes PROMPT SPECIALIST: "synapse" picks it (or none), and says so
routes() {
    chat synapse "$1"
    got=$(js "$work/body" 'o.synapse.route.specialists.map(s => s.name).join(",") || "none"')
    [ "$got" = "$2" ] || bad "'$1' went to $got, not $2: $(cat "$work/body")"
    [ "$(header)" = "$2" ] || bad "'$1': X-Synapse-Specialist '$(header)', not $2"
    js "$work/body" 'const s = o.synapse; s.route.mode === "single" && typeof s.route.reason === "string" &&
        s.route.reason.length > 0 && s.confidence >= 0 && s.confidence <= 1 && !("scores" in s.route)' |
        grep -q true || bad "'$1': a bad synapse object: $(js "$work/body" 'JSON.stringify(o.synapse)')"
}
conf() { js "$work/body" o.synapse.confidence; }

cat >"$work/router.yaml" <<YAML
specialists:
  - name: coder
    description: writes and fixes code
    capabilities: [debug, code, unit testing]
    examples: ["why does this C program crash?"]
  - name: poet
    description: writes poems
    capabilities: [poetry, poem, rhyme]
  - name: twin-a
    description: cooks
    capabilities: [cooking]
  - name: twin-b
    description: cooks
    capabilities: [cooking]
YAML
start rt --config "$work/router.yaml" --model "$model" --chat-template chatml --threads 1 --parallel 2
grep -q 'router: router 1.0.0' "$work/rt.log" || bad "the router plugin is not in the log: $(cat "$work/rt.log")"

# several wordings each, stems and whole words
routes "Help me with debugging this" coder
routes "The debugger shows a crash in my code" coder
routes "Can you write unit tests for my parser?" coder
routes "DEBUG: it fails" coder
routes "Write a poem about the sea" poet
routes "Some poetry, please" poet
routes "Something that rhymes?" poet
routes "hello there" none
js "$work/body" 'o.synapse.route.reason' | grep -q 'the base model answers' || bad "no reason for the base model"
js "$work/body" 'o.synapse.route.domain' | grep -qx general || bad "no match is not the general domain"
routes "the debutante ball" none   # whole words only
chat synapse "Help me with debugging this"
js "$work/body" 'o.synapse.route.reason' | grep -q "capability 'debug'" || bad "the reason does not name the capability: $(cat "$work/body")"
js "$work/body" 'Array.isArray(o.synapse.verification)' | grep -q true || bad "no synapse.verification: $(cat "$work/body")"
[ "$(js "$work/body" o.synapse.route.domain)" = debug ] || bad "domain: $(cat "$work/body")"

# a specialist named by the request: no router choice, but a route all the same
chat synapse/poet "Help me with debugging this"
js "$work/body" 'const r = o.synapse.route; r.specialists.length === 1 && r.specialists[0].name === "poet" &&
    r.specialists[0].score === null && /named by the request/.test(r.reason)' | grep -q true ||
    bad "a named specialist's route: $(cat "$work/body")"
[ "$(header)" = poet ] || bad "named: X-Synapse-Specialist '$(header)'"

# streamed: the header, and the route in the last chunk before [DONE]
curl -s -N -m 60 -D "$work/head" -o "$work/stream" -H 'Content-Type: application/json' \
    "http://127.0.0.1:$port/v1/chat/completions" \
    --data-binary '{"model":"synapse","messages":[{"role":"user","content":"a poem, please"}],"max_tokens":4,"stream":true}'
[ "$(header)" = poet ] || bad "stream: X-Synapse-Specialist '$(header)'"
grep '^data: ' "$work/stream" | tail -2 >"$work/tail"
sed -n 1p "$work/tail" | sed 's/^data: //' >"$work/last"
sed -n 2p "$work/tail" | grep -qx 'data: \[DONE\]' || bad "the stream does not end in [DONE]"
js "$work/last" 'o.choices.length === 0 && o.synapse.route.specialists[0].name === "poet" && o.synapse.confidence >= 0 &&
    o.synapse.confidence <= 1' | grep -q true || bad "the stream's last chunk: $(cat "$work/last")"

# every decision in full: newest first, every specialist's scores by signal
expect 200 GET "/api/routes?limit=3"
js "$work/body" 'const d = o.data; d.length === 3 && d[0].specialists[0].name === "poet" &&
    d.every(r => r.scores.length === 4 && r.scores.every(s => ["name", "score", "capability", "similarity",
    "pathway"].every(k => k in s)) && typeof r.response_id === "string" && r.created > 0)' | grep -q true ||
    bad "GET /api/routes: $(cat "$work/body")"
js "$work/body" 'o.data[2].scores.find(s => s.name === "coder").capability > 0 &&
    o.data[2].scores.find(s => s.name === "poet").capability === 0' | grep -q true || bad "capability signal: $(cat "$work/body")"
expect 400 GET "/api/routes?limit=0"
expect 400 GET "/api/routes?limit=x"

# two that score the same: the first wins the tie...
routes "I love cooking" twin-a
tie=$(js "$work/body" 'o.synapse.route.reason')
echo "$tie" | grep -q 'next twin-b' || bad "the tie's reason: $tie"
# ...and twin-a's own record for the domain calibrates its confidence
chat synapse/twin-a "I love cooking"
c0=$(conf)
for k in 1 2 3; do
    chat synapse/twin-a "I love cooking"
    id=$(js "$work/body" o.id)
    expect 201 POST /api/feedback "{\"response_id\":\"$id\",\"rating\":-1}"
done
chat synapse/twin-a "I love cooking"
c3=$(conf)
node -e 'process.exit(+process.argv[1] < +process.argv[2] && +process.argv[1] >= 0 ? 0 : 1)' "$c3" "$c0" ||
    bad "three thumbs-down did not lower twin-a's confidence: $c0 -> $c3"
# after three thumbs-down on twin-a's answers, the other twin answers
routes "I love cooking" twin-b
expect 200 GET "/api/routes?limit=1"
js "$work/body" 'const s = o.data[0].scores; s.find(x => x.name === "twin-a").pathway < 0 &&
    s.find(x => x.name === "twin-b").pathway === 0 && o.data[0].domain === "cook"' | grep -q true ||
    bad "the pathway signal after the thumbs-down: $(cat "$work/body")"
# thumbs-up raise a confidence
chat synapse/twin-b "I love cooking"
b0=$(conf)
for k in 1 2; do
    chat synapse/twin-b "I love cooking"
    expect 201 POST /api/feedback "{\"response_id\":\"$(js "$work/body" o.id)\",\"rating\":1}"
done
chat synapse/twin-b "I love cooking"
b2=$(conf)
node -e 'process.exit(+process.argv[1] > +process.argv[2] && +process.argv[1] <= 1 ? 0 : 1)' "$b2" "$b0" ||
    bad "two thumbs-up did not raise twin-b's confidence: $b0 -> $b2"
expect 200 GET /api/confidence
js "$work/body" 'const a = o.data.find(x => x.specialist === "twin-a" && x.domain === "cook"),
    b = o.data.find(x => x.specialist === "twin-b" && x.domain === "cook"), n = o.data.find(x => x.specialist === null);
    a.rated === 3 && a.mean_rating === -1 && a.answers >= 5 && b.rated === 2 && b.mean_rating === 1 &&
    n && n.domain === "general" && o.data.every(x => x.mean_confidence >= 0 && x.mean_confidence <= 1)' |
    grep -q true || bad "GET /api/confidence: $(cat "$work/body")"
# a query of two parts for two specialists: a swarm. Each member's answer is
# what it gives alone, and the answer is the base model's merge of them
swarm_q="Debug my parser and write a poem about it"
chat synapse "$swarm_q"
cp "$work/body" "$work/swarm"
js "$work/swarm" 'const r = o.synapse.route; r.mode === "swarm" && r.specialists.map(s => s.name).join() === "poet,coder" &&
    /different parts/.test(r.reason) && o.synapse.swarm.length === 2' | grep -q true || bad "swarm route: $(cat "$work/swarm")"
[ "$(header)" = "poet,coder" ] || bad "swarm: X-Synapse-Specialist '$(header)'"
for m in poet coder; do
    chat "synapse/$m" "$swarm_q"
    [ "$(js "$work/body" o.choices[0].message.content)" = "$(js "$work/swarm" "o.synapse.swarm.find(a => a.name === '$m').content")" ] ||
        bad "the swarm's $m answer differs from $m alone"
done
node -e '
const o = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
let user = "Request: " + process.argv[2];
for (const a of o.synapse.swarm) user += "\n\nAnswer from " + a.name + ":\n" + a.content;
process.stdout.write(JSON.stringify({model: "synapse/none", max_tokens: 4, temperature: 0, messages: [
  {role: "system", content: "Several specialists each answered the user'"'"'s request below, each from their own field. " +
   "Merge their answers into one complete answer to the whole request: keep what each got right, settle where they " +
   "differ, drop repetition, and do not mention the specialists."}, {role: "user", content: user}]}))' \
    "$work/swarm" "$swarm_q" | sed 's|"synapse/none"|"'"$(js "$work/swarm" o.model)"'"|' >"$work/synth.json"
# the base model by its own name, so the router stays out of it
base_name=$(curl -s "http://127.0.0.1:$port/v1/models" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>process.stdout.write(JSON.parse(s).data[1].id))')
sed -i "s|\"model\":\"synapse\"|\"model\":\"$base_name\"|" "$work/synth.json"
curl -s -m 60 -o "$work/merged" -H 'Content-Type: application/json' "http://127.0.0.1:$port/v1/chat/completions" \
    --data-binary @"$work/synth.json"
[ "$(js "$work/merged" o.choices[0].message.content)" = "$(js "$work/swarm" o.choices[0].message.content)" ] ||
    bad "the swarm's answer is not the synthesis of its parts: $(cat "$work/merged")"
# streamed, the merge streams and the route comes last
curl -s -N -m 60 -o "$work/sstream" -H 'Content-Type: application/json' "http://127.0.0.1:$port/v1/chat/completions" \
    --data-binary "{\"model\":\"synapse\",\"messages\":[{\"role\":\"user\",\"content\":\"$swarm_q\"}],\"max_tokens\":4,\"temperature\":0,\"stream\":true}"
grep '^data: {' "$work/sstream" | tail -1 | sed 's/^data: //' >"$work/last"
js "$work/last" 'o.synapse.route.mode === "swarm" && o.synapse.swarm.length === 2' | grep -q true ||
    bad "the swarm stream's last chunk: $(cat "$work/last")"
text=$(grep '^data: {' "$work/sstream" | sed 's/^data: //' | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{let t="";for(const l of s.trim().split("\n")){const o=JSON.parse(l);for(const c of o.choices)t+=c.delta.content||""}process.stdout.write(t)})')
[ "$text" = "$(js "$work/swarm" o.choices[0].message.content)" ] || bad "the streamed merge differs: '$text'"
# rated, a swarm's answer moves its set's pathway and its members' own
expect 201 POST /api/feedback "{\"response_id\":\"$(js "$work/swarm" o.id)\",\"rating\":1}"
expect 200 GET /api/confidence
js "$work/body" 'const x = o.data.find(x => x.specialist === "poet+coder"); x && x.rated === 1 && x.answers === 2' |
    grep -q true || bad "the swarm's record: $(cat "$work/body")"
chat synapse "$swarm_q"
expect 200 GET "/api/routes?limit=1"
js "$work/body" 'const s = o.data[0].scores; s.find(x => x.name === "poet").pathway > 0 && s.find(x => x.name === "coder").pathway > 0' |
    grep -q true || bad "the members' pathways after a thumbs-up: $(cat "$work/body")"

# a new specialist is routed to at once
expect 201 POST /api/specialists '{"name":"sommelier","capabilities":["wine"],"description":"pairs wine"}'
routes "Which wine goes with fish?" sommelier
expect 200 DELETE /api/specialists/sommelier
routes "Which wine goes with fish?" none
stop $last rt

# a confident answer strengthens its pathway: a model of sharp distributions
tools="${SYN_TESTDATA:-$src/../shared/testdata}/../tools"
vocab="${SYN_TESTDATA:-$src/../shared/testdata}/vocab/ggml-vocab-qwen2.gguf"
py=/usr/bin/python3; [ -x "$py" ] || py=python3   # the Debian one has numpy (scripts/install-deps)
MKMODEL_STD=10 "$py" "$tools/mkmodel.py" "$vocab" "$work/sharp.gguf" tiny >/dev/null || bad "mkmodel.py failed"
printf 'specialists:\n  - name: coder\n    capabilities: [debug]\n' >"$work/sharp.yaml"
start sharp --config "$work/sharp.yaml" --model "$work/sharp.gguf" --chat-template chatml --threads 1
chat synapse "debug this"
js "$work/body" 'o.synapse.confidence >= 0.8' | grep -q true || bad "the sharp model is not confident: $(cat "$work/body")"
chat synapse "debug this"
expect 200 GET "/api/routes?limit=1"
js "$work/body" 'o.data[0].scores[0].pathway > 0' | grep -q true || bad "a confident answer did not strengthen its pathway: $(cat "$work/body")"
stop $last sharp

# `synapse plugins` lists the router, found beside the program
"$synapse" plugins | grep -Eq '^router +router +1\.0\.0 +1\.6 +loaded' || bad "synapse plugins does not list the router: $("$synapse" plugins)"

# the router replaced by a test double: it takes the last specialist
double=$(cd "$top/tests/plugins/.libs" && pwd)/router_double.so
cp "$work/router.yaml" "$work/double.yaml"
printf 'plugins:\n  router: %s\n' "$double" >>"$work/double.yaml"
start dbl --config "$work/double.yaml" --model "$model" --chat-template chatml --threads 1 -v
grep -q 'router: test-router_double' "$work/dbl.log" || bad "the double is not the router: $(cat "$work/dbl.log")"
grep -q 'plugin test-router_double: router test double ready' "$work/dbl.log" || bad "the double's host log line"
routes "Help me with debugging this" twin-b
js "$work/body" 'o.synapse.route.reason === "the test double takes the last of 4" && o.synapse.route.domain === "double"' |
    grep -q true || bad "the double's route: $(cat "$work/body")"
# the host's generation: the double has the base model answer, read back
chat synapse "generate: tell me a story"
gen=$(js "$work/body" 'o.synapse.route.reason')
base_name=$(curl -s "http://127.0.0.1:$port/v1/models" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>process.stdout.write(JSON.parse(s).data[1].id))')
curl -s -m 60 -o "$work/direct" -H 'Content-Type: application/json' "http://127.0.0.1:$port/v1/chat/completions" \
    --data-binary "{\"model\":\"$base_name\",\"messages\":[{\"role\":\"user\",\"content\":\"tell me a story\"}],\"max_tokens\":4,\"temperature\":0}"
[ "$gen" = "generated: $(js "$work/direct" o.choices[0].message.content)" ] ||
    bad "the host's generation '$gen' is not the base model's answer: $(cat "$work/direct")"
routes "Help me with debugging this" twin-b
# its outcome goes through the host's pathway calls into the store
expect 201 POST /api/feedback "{\"response_id\":\"$(js "$work/body" o.id)\",\"rating\":1}"
stop $last dbl
db="$work/home-dbl/synapse.db"
if command -v sqlite3 >/dev/null 2>&1; then
    [ "$(sqlite3 "$db" "SELECT strength, successes FROM pathways WHERE domain = 'double' AND specialists = 'twin-b'")" = "1.0|1" ] ||
        bad "the double's pathway: $(sqlite3 "$db" 'SELECT * FROM pathways')"
fi

# plugins.router must name a router that loads; other kinds are refused
bad_start() { # CONFIG-LINES EXPECTED-MESSAGE
    printf '%s\n' "$1" >"$work/bad.yaml"
    SYNAPSE_HOME="$work/home-bad" timeout 60 "$synapse" serve --port 0 --config "$work/bad.yaml" --model "$model" \
        --chat-template chatml --threads 1 >"$work/bad.log" 2>&1
    rc=$?
    [ $rc -ne 0 ] && grep -q "$2" "$work/bad.log" || bad "config '$1': rc $rc, log: $(cat "$work/bad.log")"
}
capability=$(cd "$top/tests/plugins/.libs" && pwd)/good_capability.so
bad_start "plugins: {router: $capability}" "is a capability plugin, not a router"
bad_start "plugins: {router: $(dirname "$double")/router_partial.so}" "router ops table has no outcome()"
bad_start "plugins: {router: /nonexistent/r.so}" "/nonexistent/r.so"
bad_start "plugins: {spawner: $double}" "plugins.spawner: .* is a router plugin, not a spawner"
bad_start "plugins: {verifier: $double}" "is a router plugin, not a verifier"
bad_start "plugins: {routr: $double}" "unknown key 'plugins.routr'"
finish test_router
