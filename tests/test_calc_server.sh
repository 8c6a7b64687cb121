#!/bin/sh
# A specialist in code end to end: contrib/calc built out of tree with
# nothing but `pkg-config --cflags synapse-plugin` (the build tree's
# uninstalled .pc), named by a config specialist's `plugin:`, claims
# "What is 12345 * 6789?" from "synapse" and answers it exactly, streamed
# like any answer; a question it cannot answer goes to the base model with
# the reason in the route; what only a model does is refused by name; a
# bad plugin stops the start, naming it; no client can name a plugin.
top=${top_builddir:-.}
src=${top_srcdir:-.}
synapse="$top/synapse"
model="${SYN_TESTDATA:-$src/../shared/testdata}/models/qwen2-f16.gguf"
command -v node >/dev/null 2>&1 || { echo "node not found: skipped"; exit 77; }
command -v curl >/dev/null 2>&1 || { echo "curl not found"; exit 1; }
command -v pkg-config >/dev/null 2>&1 || { echo "pkg-config not found"; exit 1; }
. "$src/tests/server/lib.sh"

# chat MODEL PROMPT [EXTRA_JSON]
chat() {
    curl -s -m 60 -D "$work/head" -o "$work/body" -H 'Content-Type: application/json' \
        "http://127.0.0.1:$port/v1/chat/completions" \
        --data-binary "{\"model\":\"$1\",\"messages\":[{\"role\":\"user\",\"content\":\"$2\"}],\"max_tokens\":64$3}"
}

# out of tree: the installed-headers build, against this build tree
mkdir -p "$work/calc"
top=$(cd "$top" && pwd)
cflags=$(PKG_CONFIG_PATH="$top" pkg-config --cflags synapse-plugin) || bad "pkg-config knows no synapse-plugin in $top"
case "$cflags" in *"$src/include"*|*"$(cd "$src" && pwd)/include"*) ;; *) bad "pkg-config --cflags: '$cflags'" ;; esac
PKG_CONFIG_PATH="$top" make -s -C "$work/calc" -f "$(cd "$src" && pwd)/contrib/calc/Makefile" >"$work/make.log" 2>&1 ||
    bad "contrib/calc out of tree: $(cat "$work/make.log")"
calc="$work/calc/calc.so"
[ -f "$calc" ] || bad "no calc.so out of tree"
[ -f "$top/contrib/calc/.libs/calc.so" ] || bad "make left no contrib/calc/.libs/calc.so"

cat >"$work/calc.yaml" <<YAML
specialists:
  - name: calc
    plugin: $calc
  - name: coder
    system_prompt: You write code.
    capabilities: [python, code]
YAML
start calc --config "$work/calc.yaml" --model "$model" --chat-template chatml --threads 1
chat synapse "What is 12345 * 6789?"
ok 'o.choices[0].message.content.includes("83810205") && o.choices[0].finish_reason === "stop" &&
    o.synapse.route.specialists[0].name === "calc" && /claims the query/.test(o.synapse.route.reason) &&
    o.synapse.confidence === null && o.model === "synapse"' "calc claims and answers"
grep -qi '^X-Synapse-Specialist: calc' "$work/head" || bad "no X-Synapse-Specialist: calc header"
id=$(js "$work/body" o.id)
expect 201 POST /api/feedback "{\"response_id\":\"$id\",\"rating\":1}"
# max_tokens holds as for a model: cut after that many tokens, "length"
curl -s -m 60 -o "$work/body" -H 'Content-Type: application/json' "http://127.0.0.1:$port/v1/chat/completions" \
    --data-binary '{"model":"synapse","max_tokens":3,"messages":[{"role":"user","content":"What is 12345 * 6789?"}]}'
ok 'o.choices[0].finish_reason === "length" && o.choices[0].message.content.length > 0 &&
    !o.choices[0].message.content.includes("83810205")' "calc within max_tokens 3"
curl -s -N -m 60 -H 'Content-Type: application/json' "http://127.0.0.1:$port/v1/chat/completions" \
    --data-binary '{"model":"synapse","stream":true,"max_tokens":3,"messages":[{"role":"user","content":"What is 12345 * 6789?"}]}' \
    >"$work/cut.sse"
grep -q '"finish_reason":"length"' "$work/cut.sse" && tail -c 20 "$work/cut.sse" | grep -q 'data: \[DONE\]' ||
    bad "a cut calc stream: $(cat "$work/cut.sse")"
chat synapse "what's 7 times 8?"
ok 'o.choices[0].message.content.includes("56") && o.synapse.route.specialists[0].name === "calc"' "words for operators"
# streamed like any answer: pieces, then the synapse chunk, then [DONE]
curl -s -N -m 60 -H 'Content-Type: application/json' "http://127.0.0.1:$port/v1/chat/completions" \
    --data-binary '{"model":"synapse","stream":true,"messages":[{"role":"user","content":"What is 12345 * 6789?"}]}' \
    >"$work/calc.sse"
node -e '
const ev = require("fs").readFileSync(process.argv[1], "utf8").split("\n\n").filter(Boolean);
if (ev[ev.length - 1] !== "data: [DONE]") throw "no [DONE]";
const chunks = ev.slice(0, -1).map(e => JSON.parse(e.slice(6)));
const text = chunks.map(c => c.choices.length ? (c.choices[0].delta.content || "") : "").join("");
if (!text.includes("83810205")) throw "streamed text: " + text;
const last = chunks[chunks.length - 1];
if (!last.synapse || last.synapse.route.specialists[0].name !== "calc") throw "last chunk: " + JSON.stringify(last);
if (chunks[0].choices[0].delta.role !== "assistant") throw "no role chunk";' "$work/calc.sse" ||
    bad "the calc stream: $(cat "$work/calc.sse")"
# nothing to compute: the base model answers, saying why
chat synapse/calc "Tell me a story about dragons"
ok 'o.synapse.route.specialists.length === 0 && /no arithmetic/.test(o.synapse.route.reason) &&
    o.usage.completion_tokens > 0' "the base model answers what calc cannot"
chat synapse "Tell me a story about dragons"
ok '!o.synapse.route.specialists.some(s => s.name === "calc")' "calc claimed a story"
# what only a model does: refused when named, passed on when chosen
chat synapse/calc "What is 2+2?" ',"n":2'
[ "$(js "$work/body" o.error.param)" = n ] || bad "n=2 to calc: $(cat "$work/body")"
chat synapse/calc "What is 2+2?" ',"logprobs":true'
[ "$(js "$work/body" o.error.param)" = logprobs ] || bad "logprobs to calc: $(cat "$work/body")"
chat synapse "What is 2+2?" ',"logprobs":true'
ok 'o.choices[0].logprobs !== null && o.synapse.route.specialists.length === 0 && /logprobs/.test(o.synapse.route.reason)' \
    "a request with logprobs passed on to the base model"
expect 400 POST /v1/completions '{"model":"synapse/calc","prompt":"2+2"}'
grep -q "answers chat requests only" "$work/body" || bad "a completion to calc: $(cat "$work/body")"
# what it says of itself
expect 200 GET /api/specialists/calc
ok 'o.plugin.endsWith("calc.so") && o.plugin_loaded.name === "calc" && o.plugin_loaded.capabilities.length > 0 &&
    o.adapter_loaded === null' "the specialist in code"
# a client cannot make the server load code; a change through the API
# keeps the file's plugin entries
expect 400 POST /api/specialists "{\"name\":\"calc2\",\"plugin\":\"$calc\"}"
grep -q "'plugin' can be set only in the config file" "$work/body" || bad "plugin through the API: $(cat "$work/body")"
expect 201 POST /api/specialists '{"name":"poet","system_prompt":"You write poems."}'
grep -q "plugin: \"$calc\"" "$work/calc.yaml" || bad "calc's plugin left the config file: $(cat "$work/calc.yaml")"
chat synapse/calc "What is 6 * 7?"
ok 'o.choices[0].message.content.includes("42")' "calc after a change through the API"
stop $last calc

# a plugin that is not a specialist, or no plugin at all, or one with
# what only a model uses, stops the start
printf 'specialists:\n  - name: calc\n    plugin: %s\n    system_prompt: x\n' "$calc" >"$work/bad.yaml"
SYNAPSE_HOME="$work/home-bad" timeout 60 "$synapse" serve --port 0 --config "$work/bad.yaml" --model "$model" \
    >"$work/bad.log" 2>&1 && bad "plugin with a system prompt started"
grep -q "'plugin' and 'system_prompt' cannot both be set" "$work/bad.log" || bad "plugin with a prompt: $(cat "$work/bad.log")"
router=$(cd "$top/tests/plugins/.libs" && pwd)/router_double.so
for p in "$router" "$work/missing.so"; do
    printf 'specialists:\n  - name: calc\n    plugin: %s\n' "$p" >"$work/bad.yaml"
    SYNAPSE_HOME="$work/home-bad" timeout 60 "$synapse" serve --port 0 --config "$work/bad.yaml" --model "$model" \
        >"$work/bad.log" 2>&1 && bad "plugin $p started"
    grep -q "specialist 'calc': plugin: " "$work/bad.log" || bad "plugin $p: $(cat "$work/bad.log")"
done
finish test_calc_server
