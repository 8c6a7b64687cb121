#!/bin/sh
# Facts through the server: POST /api/knowledge/facts normalises and
# reinforces (a repeat is not a duplicate), a contradiction from a source as
# trusted halves the old fact's confidence, GET searches by subject and full
# text with limit and offset, DELETE removes, GET /api/knowledge/stats
# counts, POST /api/knowledge/extract shows what the extractor finds and
# stores nothing; every bad request is refused with the reason; facts
# survive a restart, 16 concurrent writers and kill -9; with learning on,
# what the user states in a chat is taught; and the extractor is a plugin
# a test double replaces.
top=${top_builddir:-.}
src=${top_srcdir:-.}
synapse="$top/synapse"
command -v node >/dev/null 2>&1 || { echo "node not found: skipped"; exit 77; }
command -v curl >/dev/null 2>&1 || { echo "curl not found"; exit 1; }
. "$src/tests/server/lib.sh"


start kn
expect 201 POST /api/knowledge/facts '{"subject":"The  Zorblax","predicate":"invented by","object":"Quentin Marsh."}'
ok 'o.id > 0 && o.subject === "zorblax" && o.object === "quentin marsh" && o.times_seen === 1 && o.source === "api" &&
    o.negated === false' "a new fact"
id=$(js "$work/body" o.id)
c1=$(js "$work/body" o.confidence)
expect 200 POST /api/knowledge/facts '{"subject":"zorblax","predicate":"invented by","object":"QUENTIN MARSH"}'
ok "o.id === $id && o.times_seen === 2 && o.confidence > $c1" "a repeated fact is reinforced"
# contradictions: another year, and the same claim denied
expect 201 POST /api/knowledge/facts '{"subject":"Python","predicate":"released in","object":"1991"}'
py=$(js "$work/body" o.id)
expect 201 POST /api/knowledge/facts '{"subject":"Python","predicate":"released in","object":"1989"}'
expect 200 GET "/api/knowledge/facts?subject=python"
ok "o.data.length === 2 && o.data.find(f => f.id === $py).confidence === 0.4" "the contradicted year"
expect 201 POST /api/knowledge/facts '{"subject":"SQLite","predicate":"requires","object":"a server","negated":true}'
expect 201 POST /api/knowledge/facts '{"subject":"SQLite","predicate":"requires","object":"a server"}'
expect 200 GET "/api/knowledge/facts?subject=sqlite"
ok 'o.data.find(f => f.negated).confidence === 0.4 && o.data.find(f => !f.negated).confidence === 0.8' "the denied claim"
# search: full text, subject, limit and offset
for k in 1 2 3 4 5; do
    expect 201 POST /api/knowledge/facts "{\"subject\":\"planet $k\",\"predicate\":\"orbits\",\"object\":\"the star Vega\"}"
done
expect 200 GET "/api/knowledge/facts?q=vega"
ok 'o.data.length === 5 && o.data.every(f => f.object === "star vega")' "full-text search"
expect 200 GET "/api/knowledge/facts?q=vega&limit=2&offset=4"
ok 'o.data.length === 1' "limit and offset"
expect 200 GET "/api/knowledge/facts?q=%22%29%28*%20OR"
ok 'o.data.length === 0' "FTS syntax in q is text"
expect 200 GET "/api/knowledge/facts?q=quentin%20marsh"
ok "o.data.length === 1 && o.data[0].id === $id" "two words"
expect 200 GET /api/knowledge/stats
ok 'o.facts === 10 && o.subjects === 8 && o.by_source.api === 10 && o.by_predicate.orbits === 5' "stats"
# extract: what the extractor finds, nothing stored
expect 200 POST /api/knowledge/extract '{"text":"Linux runs on x86 and ARM. Is it fast? It is."}'
ok 'o.facts.length === 2 && o.facts[1].subject === "linux" && o.facts[1].predicate === "runs on" &&
    o.facts[1].object === "arm" && o.facts[0].negated === false' "extract"
expect 200 POST /api/knowledge/extract '{"text":"Rust does not use a garbage collector."}'
ok 'o.facts.length === 1 && o.facts[0].negated === true && o.facts[0].object === "garbage collector"' "extract, negated"
expect 200 GET /api/knowledge/stats
ok 'o.facts === 10' "extract stored something"
# verify: an answer's claims against the facts
expect 201 POST /api/knowledge/facts '{"subject":"Go","predicate":"created by","object":"Google"}'
go=$(js "$work/body" o.id)
expect 200 POST /api/verify '{"text":"Zorblax was invented by Quentin Marsh. Go was not created by Google. Go runs on Plan 9. Is it?"}'
ok "const c = o.claims; c.length === 3 && c[0].label === 'supported' && c[0].fact_id === $id &&
    c[0].claim === 'Zorblax was invented by Quentin Marsh.' && c[1].label === 'contradicted' && c[1].fact_id === $go &&
    c[2].label === 'unknown' && c[2].fact_id === null" "verify"
expect 400 POST /api/verify '{"text":1}'
expect 400 POST /api/verify '{"txt":"a"}'
expect 200 DELETE "/api/knowledge/facts/$go"
# every bad request, with its reason
expect 400 POST /api/knowledge/facts '{"subject":"a"'
expect 400 POST /api/knowledge/facts '{"subject":"x","predicate":"is"}'
grep -q "needs 'subject', 'predicate' and 'object'" "$work/body" || bad "missing object: $(cat "$work/body")"
expect 400 POST /api/knowledge/facts '{"subject":"x","predicate":"is","object":"y","weight":2}'
grep -q "unknown field 'weight'" "$work/body" || bad "unknown field: $(cat "$work/body")"
expect 400 POST /api/knowledge/facts '{"subject":"","predicate":"is","object":"y"}'
expect 400 POST /api/knowledge/facts '{"subject":"  .","predicate":"is","object":"y"}'
expect 400 POST /api/knowledge/facts '{"subject":"x","predicate":"is","object":"y","negated":"no"}'
expect 400 POST /api/knowledge/extract '{"txt":"a"}'
expect 400 POST /api/knowledge/extract '{"text":5}'
expect 400 GET "/api/knowledge/facts?limit=0"
expect 400 GET "/api/knowledge/facts?offset=-1"
expect 404 DELETE /api/knowledge/facts/999 fact_not_found
expect 404 DELETE /api/knowledge/facts/abc fact_not_found
[ "$(req GET /api/knowledge/extract)" = 405 ] || bad "GET /api/knowledge/extract is not 405"
expect 200 DELETE "/api/knowledge/facts/$py"
expect 404 DELETE "/api/knowledge/facts/$py" fact_not_found

# 16 writers at once: every fact acknowledged is there
i=0
writers=""
while [ $i -lt 16 ]; do
    (
        k=0
        while [ $k -lt 10 ]; do
            curl -s -m 60 -o /dev/null -w '%{http_code}\n' -H 'Content-Type: application/json' \
                "http://127.0.0.1:$port/api/knowledge/facts" \
                --data-binary "{\"subject\":\"writer $i\",\"predicate\":\"wrote\",\"object\":\"item $k\"}"
            k=$((k + 1))
        done >"$work/w$i"
    ) &
    writers="$writers $!"
    i=$((i + 1))
done
wait $writers  # not the server
[ "$(cat "$work"/w* | grep -c '^201$')" = 160 ] || bad "16 writers: $(cat "$work"/w* | sort | uniq -c)"
expect 200 GET /api/knowledge/stats
ok 'o.by_predicate.wrote === 160' "16 writers' facts"

# kill -9 while facts are written: every acknowledged one is there after
pid=$last
: >"$work/acked"
(
    k=0
    while [ $k -lt 100000 ] && [ ! -f "$work/stop" ]; do
        curl -s -m 10 -H 'Content-Type: application/json' "http://127.0.0.1:$port/api/knowledge/facts" \
            --data-binary "{\"subject\":\"killed $k\",\"predicate\":\"is\",\"object\":\"durable\"}" >"$work/k" || break
        a=$(sed -n 's/^{"id":\([0-9]*\),.*/\1/p' "$work/k")
        [ -n "$a" ] && echo "$a" >>"$work/acked"
        k=$((k + 1))
    done
) &
loop=$!
i=0
while [ "$(wc -l <"$work/acked")" -lt 20 ] && [ $i -lt 300 ]; do sleep 0.05; i=$((i + 1)); done
pkill -9 -P $pid
touch "$work/stop"
wait $loop
n=$(wc -l <"$work/acked")
[ "$n" -ge 20 ] || bad "only $n facts before the kill"
mv "$work/kn.log" "$work/kn-killed.log"
start kn
lost=0
while read -r a; do
    [ "$(req GET "/api/knowledge/facts?subject=killed%20$(($(grep -n "^$a\$" "$work/acked" | cut -d: -f1) - 1))")" = 200 ] &&
        js "$work/body" "o.data.length === 1 && o.data[0].id === $a" | grep -q true || lost=$((lost + 1))
done <"$work/acked"
[ $lost -eq 0 ] || bad "$lost of $n acknowledged facts lost to kill -9"
echo "kill -9 after $n acknowledged facts: $lost lost"
# and what came before, after the restart
expect 200 GET "/api/knowledge/facts?subject=zorblax"
ok "o.data.length === 1 && o.data[0].times_seen === 2" "a fact after the restart"
stop $last kn

# known facts go into the prompt the model sees: the answer is the one
# `synapse run` gives with them as the system message
model="${SYN_TESTDATA:-$src/../shared/testdata}/models/qwen2-f16.gguf"
printf 'knowledge:\n  prompt_tokens: 64\n' >"$work/know.yaml"
start know --config "$work/know.yaml" --model "$model" --chat-template chatml --threads 1
expect 201 POST /api/knowledge/facts '{"subject":"Zorblax","predicate":"invented by","object":"Quentin Marsh"}'
zid=$(js "$work/body" o.id)
expect 201 POST /api/knowledge/facts '{"subject":"Zorblax","predicate":"is a","object":"blue gadget","negated":true}'
zneg=$(js "$work/body" o.id)
expect 201 POST /api/knowledge/facts '{"subject":"Paris","predicate":"located in","object":"France"}'
ask_chat() {
    curl -s -m 60 -o "$work/body" -H 'Content-Type: application/json' "http://127.0.0.1:$port/v1/chat/completions" \
        --data-binary "{\"model\":\"synapse\",\"messages\":[{\"role\":\"user\",\"content\":\"$1\"}],\"max_tokens\":8,\"temperature\":0}"
}
ask_chat "Who invented Zorblax?"
ok "o.synapse.knowledge.length === 2 && o.synapse.knowledge.includes($zid) && o.synapse.knowledge.includes($zneg)" \
    "the facts in the prompt"
got=$(js "$work/body" o.choices[0].message.content)
facts=$(printf 'Facts known to be true:\n- %s\n- %s\n' "$(js "$work/body" "o.synapse.knowledge[0] === $zid ? 'zorblax invented by quentin marsh' : 'not: zorblax is a blue gadget'")" \
    "$(js "$work/body" "o.synapse.knowledge[0] === $zid ? 'not: zorblax is a blue gadget' : 'zorblax invented by quentin marsh'")")
want=$("$synapse" run -m "$model" --chat-template chatml --threads 1 --temperature 0 -n 8 --system "$facts" \
    -p "Who invented Zorblax?" 2>/dev/null)
[ "$got" = "$want" ] || bad "the answer with facts '$got' is not synapse run's with them as the system message '$want'"
ask_chat "Tell me about the weather"
ok '!("knowledge" in o.synapse)' "unrelated words brought facts"
stop $last know
# a budget too small for one fact puts none
printf 'knowledge:\n  prompt_tokens: 3\n' >"$work/tiny.yaml"
cp -r "$work/home-know" "$work/home-tiny"
start tiny --config "$work/tiny.yaml" --model "$model" --chat-template chatml --threads 1
ask_chat "Who invented Zorblax?"
ok '!("knowledge" in o.synapse)' "a budget of 3 tokens"
stop $last tiny

# teaching in conversation: with learning on, the user's own statements
# become facts (source user), before the answer, so the prompt has them;
# questions teach nothing; with learning off nothing is stored
printf 'learning: true\n' >"$work/teach.yaml"
start teach --config "$work/teach.yaml" --model "$model" --chat-template chatml --threads 1
ask_chat "Remember this: Vornik was invented by Ada Quell."
ok 'o.synapse.learned.length === 1 && o.synapse.knowledge.includes(o.synapse.learned[0])' "a fact taught, in its own prompt"
tid=$(js "$work/body" o.synapse.learned[0])
expect 200 GET "/api/knowledge/facts?subject=vornik"
ok "o.data.length === 1 && o.data[0].id === $tid && o.data[0].source === 'user' && o.data[0].predicate === 'invented by' &&
    o.data[0].object === 'ada quell'" "the taught fact"
ask_chat "Who invented Vornik?"
ok "!('learned' in o.synapse) && o.synapse.knowledge.includes($tid)" "a question teaches nothing, and is told the fact"
ask_chat "Please remember that Vornik is written in Rust. Vornik runs on Linux, BSD and Plan 9."
ok 'o.synapse.learned.length === 4' "four facts in two sentences"
ask_chat "I think maybe Vornik uses Python."
ok '!("learned" in o.synapse)' "a hedge taught"
# the same through a stream: the last chunk says what was learned
curl -s -N -m 60 -H 'Content-Type: application/json' "http://127.0.0.1:$port/v1/chat/completions" \
    --data-binary '{"model":"synapse","stream":true,"max_tokens":4,"messages":[{"role":"user","content":"Remember: Kelda is located in Norway."}]}' \
    >"$work/teach.sse"
grep '"learned":\[' "$work/teach.sse" >/dev/null || bad "a stream's last chunk has no learned: $(tail -c 400 "$work/teach.sse")"
expect 200 GET "/api/knowledge/facts?subject=kelda"
ok 'o.data.length === 1 && o.data[0].object === "norway"' "a fact taught in a stream"
stop $last teach
cp -r "$work/home-teach" "$work/home-quiet"
start quiet --model "$model" --chat-template chatml --threads 1
ask_chat "Remember this: Zentor was invented by Bo Lin."
ok '!("learned" in o.synapse)' "learning off taught"
expect 200 GET "/api/knowledge/facts?subject=zentor"
ok 'o.data.length === 0' "learning off stored a fact"
stop $last quiet

# the extractor replaced by a test double
double=$(cd "$top/tests/plugins/.libs" && pwd)/extractor_double.so
printf 'plugins:\n  extractor: %s\n' "$double" >"$work/double.yaml"
start dbl --config "$work/double.yaml"
expect 200 POST /api/knowledge/extract '{"text":"Linux runs on ARM."}'
ok 'o.facts.length === 1 && o.facts[0].predicate === "says" && o.facts[0].object === "double"' "the double"
stop $last dbl
printf 'plugins:\n  extractor: %s\n' "$(dirname "$double")/router_double.so" >"$work/bad.yaml"
SYNAPSE_HOME="$work/home-bad" timeout 60 "$synapse" serve --port 0 --config "$work/bad.yaml" >"$work/bad.log" 2>&1 &&
    bad "a router as plugins.extractor started"
grep -q "is a router plugin, not an extractor" "$work/bad.log" || bad "plugins.extractor: $(cat "$work/bad.log")"
finish test_knowledge
