#!/bin/sh
# Every field of a request works or is refused by name (issue: clients):
# a missing model means "synapse"; OpenAI's fields this server does not do
# yet (functions, echo, ...) and unknown ones get 400 naming them; logit_bias
# moves tokens (+100 forces one, a token outside the vocabulary is
# refused); top_k 1 is greedy; response_format constrains completions too;
# embeddings take dimensions (cut and at unit length again); GET
# /v1/models/ID; the routes without /v1; llama.cpp's /tokenize,
# /detokenize and /props; HEAD wherever GET is.
top=${top_builddir:-.}
src=${top_srcdir:-.}
synapse="$top/synapse"
model="${SYN_TESTDATA:-$src/../shared/testdata}/models/qwen2-f16.gguf"
command -v node >/dev/null 2>&1 || { echo "node not found: skipped"; exit 77; }
command -v curl >/dev/null 2>&1 || { echo "curl not found"; exit 1; }
. "$src/tests/server/lib.sh"


start api --model "$model" --chat-template chatml --threads 1
msgs='"messages":[{"role":"user","content":"Say something"}]'

# no model: the default
expect 200 POST /v1/chat/completions "{$msgs,\"max_tokens\":2}"
ok 'o.model === "synapse" && o.choices.length === 1' "a request without a model"

# refused by name
for f in '"functions":[{"name":"f"}]' '"tool_choice":"required"' '"store":false' '"frobnicate":1'; do
    expect 400 POST /v1/chat/completions "{$msgs,$f}"
    name=$(echo "$f" | sed 's/^"\([a-z_]*\)".*/\1/')
    param "$name" "$f"
done
grep -q "unknown field 'frobnicate'" "$work/body" || bad "an unknown field: $(cat "$work/body")"
expect 400 POST /v1/chat/completions "{$msgs,\"functions\":[]}"
grep -q "'functions' is not supported by this server yet" "$work/body" || bad "functions: $(cat "$work/body")"
expect 400 POST /v1/chat/completions "{$msgs,\"tools\":[]}"
param tools "an empty tools list"
expect 400 POST /v1/completions '{"prompt":"Hello","echo":true}'
param echo "echo on completions"
expect 400 POST /v1/embeddings '{"input":"hi","user_id":"x"}'
param user_id "an unknown embeddings field"
expect 200 POST /v1/chat/completions "{$msgs,\"max_tokens\":1,\"user\":\"someone\"}"
# null is "not given", for any field
expect 200 POST /v1/chat/completions "{$msgs,\"max_tokens\":1,\"functions\":null,\"whatever\":null}"
# a message's fields too
expect 400 POST /v1/chat/completions '{"messages":[{"role":"user","content":"hi","name":"bob"}]}'
param 'messages[0].name' "a message's name"
expect 400 POST /v1/chat/completions '{"messages":[{"role":"user","content":"hi","tool_calls":[]}]}'
param 'messages[0].tool_calls' "tool_calls on a user message"

# a tool's result needs the id of the call it answers; with it, it is rendered even without tools
expect 200 POST /v1/chat/completions '{"messages":[{"role":"user","content":"hi"},{"role":"tool","tool_call_id":"c1","content":"42"}],"max_tokens":1}'
expect 400 POST /v1/chat/completions '{"messages":[{"role":"user","content":"hi"},{"role":"tool","content":"42"}]}'
param 'messages[1].tool_call_id' "a tool result without its call's id"

# thinking off is asked two ways; a thinking effort is not a dial here
expect 200 POST /v1/chat/completions "{$msgs,\"max_tokens\":1,\"reasoning_effort\":\"none\"}"
expect 200 POST /v1/chat/completions "{$msgs,\"max_tokens\":1,\"chat_template_kwargs\":{\"enable_thinking\":false}}"
expect 400 POST /v1/chat/completions "{$msgs,\"reasoning_effort\":\"high\"}"
param reasoning_effort "reasoning_effort high"
expect 400 POST /v1/chat/completions "{$msgs,\"chat_template_kwargs\":{\"add_vision_id\":true}}"
param chat_template_kwargs "an unknown chat_template_kwargs key"

# logit_bias: +100 on one token makes every token that one
greedy() { # BIAS MAX_TOKENS -> the text
    curl -s -m 60 -o "$work/body" -H 'Content-Type: application/json' "http://127.0.0.1:$port/v1/completions" \
        --data-binary "{\"prompt\":\"The quick brown fox\",\"temperature\":0,\"max_tokens\":$2${1:+,\"logit_bias\":$1}}"
    js "$work/body" 'JSON.stringify(o.choices[0].text)'
}
plain=$(greedy "" 3)
one=$(greedy '{"1000":100}' 1)
three=$(greedy '{"1000":100}' 3)
node -e 'const [a, b] = [JSON.parse(process.argv[1]), JSON.parse(process.argv[2])]; if (b !== a + a + a) process.exit(1)' \
    "$one" "$three" || bad "logit_bias +100 on token 1000: '$one' then '$three'"
[ "$three" != "$plain" ] || bad "logit_bias changed nothing: $plain"
banned=$(greedy "{\"1000\":100,\"2000\":-100}" 1)
[ "$banned" = "$one" ] || bad "a second, negative bias changed the forced token: $banned"
expect 400 POST /v1/completions '{"prompt":"x","logit_bias":{"99999999":5}}'
grep -q "not in the vocabulary" "$work/body" || bad "an out-of-vocabulary bias: $(cat "$work/body")"
expect 400 POST /v1/completions '{"prompt":"x","logit_bias":{"5":500}}'
param logit_bias "a bias of 500"
expect 400 POST /v1/completions '{"prompt":"x","logit_bias":{"abc":1}}'
param logit_bias "a bias keyed by a word"

# a prompt list: a job each, choice p * n + k, each what its prompt gets alone
expect 200 POST /v1/completions '{"prompt":["The quick brown fox","Once upon a time"],"n":2,"temperature":0,"max_tokens":3}'
ok 'o.choices.length === 4 && o.choices.map(c => c.index).join() === "0,1,2,3" && o.usage.prompt_tokens > 4' "a prompt list"
both=$(js "$work/body" 'JSON.stringify(o.choices.map(c => c.text))')
second=$(curl -s -m 60 -H 'Content-Type: application/json' "http://127.0.0.1:$port/v1/completions" \
    --data-binary '{"prompt":"Once upon a time","temperature":0,"max_tokens":3}' | node -e \
    'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>process.stdout.write(JSON.stringify(JSON.parse(s).choices[0].text)))')
node -e 'const [b, p, s] = [JSON.parse(process.argv[1]), JSON.parse(process.argv[2]), JSON.parse(process.argv[3])];
    if (b[0] !== p || b[1] !== p || b[2] !== s || b[3] !== s) process.exit(1)' "$both" "$plain" "$second" ||
    bad "a prompt list's choices $both are not each prompt's alone ($plain, $second)"
expect 400 POST /v1/completions '{"prompt":["a","b"],"stream":true}'
param stream "a streamed prompt list"
expect 400 POST /v1/completions '{"prompt":["a","b","c","d","e","f","g","h","i","j","k","l","m","n","o","p","q"]}'
param prompt "17 prompts"

# top_k 1 at temperature 1 is the greedy answer
curl -s -m 60 -o "$work/body" -H 'Content-Type: application/json' "http://127.0.0.1:$port/v1/completions" \
    --data-binary '{"prompt":"The quick brown fox","temperature":1,"top_k":1,"max_tokens":3,"seed":7}'
[ "$(js "$work/body" 'JSON.stringify(o.choices[0].text)')" = "$plain" ] || bad "top_k 1 is not greedy: $(cat "$work/body")"
expect 400 POST /v1/completions '{"prompt":"x","top_k":-3}'
param top_k "top_k -3"

# response_format on a completion: the text is JSON
expect 200 POST /v1/completions '{"prompt":"Data:","max_tokens":12,"response_format":{"type":"json_object"}}'
ok '/^\s*[{\[]/.test(o.choices[0].text) || o.choices[0].text.trim() === ""' "a completion constrained to JSON"

# embeddings: dimensions cut and renormalise
expect 200 POST /v1/embeddings '{"input":"hello there","dimensions":8}'
ok 'const v = o.data[0].embedding; v.length === 8 && Math.abs(Math.hypot(...v) - 1) < 1e-4' "dimensions 8"
expect 400 POST /v1/embeddings '{"input":"hello there","dimensions":100000}'
grep -q "'dimensions' must be at most" "$work/body" || bad "too many dimensions: $(cat "$work/body")"

# models, one by one; the routes without /v1
expect 200 GET /v1/models/synapse
ok 'o.id === "synapse" && o.object === "model"' "GET /v1/models/synapse"
expect 404 GET /v1/models/nothing-here model_not_found
expect 200 GET /models
ok 'o.object === "list" && o.data.some(m => m.id === "synapse")' "GET /models"
expect 200 POST /chat/completions "{$msgs,\"max_tokens\":1}"
expect 200 POST /completions '{"prompt":"Hi","max_tokens":1}'
expect 200 POST /embeddings '{"input":"hi"}'
# llama.cpp's own routes: /tokenize and /detokenize round trip, /props
expect 200 POST /tokenize '{"content":"Hello world, again"}'
ids=$(js "$work/body" 'JSON.stringify(o.tokens)')
want=$("$synapse" tokenize -m "$model" -p "Hello world, again" 2>/dev/null | tr ' ' ',')
[ "$ids" = "[$want]" ] || bad "/tokenize gave $ids, synapse tokenize [$want]"
expect 200 POST /detokenize "{\"tokens\":$ids}"
ok 'o.content === "Hello world, again"' "/detokenize"
expect 200 POST /tokenize '{"content":"Hi","with_pieces":true}'
ok 'o.tokens.length > 0 && typeof o.tokens[0].id === "number" && o.tokens.map(t => t.piece).join("").trimStart() === "Hi"' "with_pieces"
expect 400 POST /tokenize '{"content":"Hi","pieces":true}'
param pieces "an unknown /tokenize field"
expect 400 POST /detokenize '{"tokens":[-1]}'
param tokens "a negative token"
expect 200 GET /props
ok 'o.total_slots >= 1 && o.default_generation_settings.n_ctx > 0 && o.chat_template === "chatml"' "/props"
# HEAD: GET's head, no body
code=$(curl -s -m 10 -I -o "$work/head" -w '%{http_code}' "http://127.0.0.1:$port/health")
[ "$code" = 200 ] && grep -qi '^content-length: [1-9]' "$work/head" || bad "HEAD /health: $code $(cat "$work/head")"
code=$(curl -s -m 10 -X HEAD -o "$work/hbody" -w '%{http_code}' "http://127.0.0.1:$port/health" --max-time 5)
[ ! -s "$work/hbody" ] || bad "HEAD /health sent a body: $(cat "$work/hbody")"
code=$(curl -s -m 10 -I -o "$work/head" -w '%{http_code}' "http://127.0.0.1:$port/v1/chat/completions")
[ "$code" = 405 ] || bad "HEAD on a POST route: $code"
code=$(curl -s -m 10 -o "$work/body" -D "$work/head" -w '%{http_code}' "http://127.0.0.1:$port/v1/models" -X DELETE)
grep -qi '^allow: GET, HEAD' "$work/head" || bad "a GET route's Allow: $(cat "$work/head")"
stop $last api
finish test_api_fields
