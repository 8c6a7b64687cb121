#!/bin/sh
# The store through the server: every chat answer (streamed or not) is
# recorded in data_dir/synapse.db before the client has all of it, so its
# response id can be rated with POST /api/feedback; a correction becomes a
# preference pair in GET /api/preferences (chosen = the correction,
# rejected = the answer, prompt = the user's message); every bad feedback is
# refused with the reason; and after kill -9 in the middle of a stream of
# requests, every answer a client received can still be rated.
top=${top_builddir:-.}
src=${top_srcdir:-.}
synapse="$top/synapse"
models="${SYN_TESTDATA:-$src/../shared/testdata}/models"
model="$models/qwen2-f16.gguf"
command -v node >/dev/null 2>&1 || { echo "node not found: skipped"; exit 77; }
command -v curl >/dev/null 2>&1 || { echo "curl not found"; exit 1; }
. "$src/tests/server/lib.sh"

# JS over a file: FILE EXPR (o is the parsed JSON)
chat() { # MODEL PROMPT [STREAM] -> the body in $work/body
    req POST /v1/chat/completions "{\"model\":\"$1\",\"messages\":[{\"role\":\"user\",\"content\":\"$2\"}],\"max_tokens\":6,\"temperature\":0${3:+,\"stream\":true}}" >/dev/null
}

start fb --model "$model" --chat-template chatml --threads 1 --parallel 2
[ -f "$work/home-fb/synapse.db" ] || bad "no data_dir/synapse.db"

chat synapse "rate this answer"
id=$(js "$work/body" o.id)
answer=$(js "$work/body" o.choices[0].message.content)
expect 201 POST /api/feedback "{\"response_id\":\"$id\",\"rating\":-1,\"correction\":\"a better answer\"}"
[ "$(js "$work/body" 'o.id > 0 && o.preference_id > 0')" = true ] || bad "feedback: $(cat "$work/body")"
expect 200 GET /api/preferences
node -e '
const o = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")), p = o.data[0];
if (o.data.length !== 1 || p.chosen !== "a better answer" || p.rejected !== process.argv[2] ||
    p.prompt !== "rate this answer" || p.specialist !== null || p.source !== "feedback" || !(p.id > 0)) process.exit(1)' \
    "$work/body" "$answer" || bad "preferences: $(cat "$work/body")"
expect 201 POST /api/feedback "{\"response_id\":\"$id\",\"rating\":1}"
[ "$(js "$work/body" o.preference_id)" = null ] || bad "a rating alone made a pair: $(cat "$work/body")"

# a streamed answer is recorded too (its id from the chunks)
chat synapse "stream it" 1
sid=$(sed -n 's/^data: {"id":"\([^"]*\)".*/\1/p' "$work/body" | head -1)
[ -n "$sid" ] || bad "no id in the stream: $(head -c 300 "$work/body")"
expect 201 POST /api/feedback "{\"response_id\":\"$sid\",\"rating\":1}"

# bad feedback, each with its reason
expect 400 POST /api/feedback '{"response_id":'
expect 400 POST /api/feedback "{\"response_id\":\"$id\"}"
grep -q "'rating'" "$work/body" || bad "missing rating: $(cat "$work/body")"
expect 400 POST /api/feedback "{\"response_id\":\"$id\",\"rating\":2}"
expect 400 POST /api/feedback "{\"response_id\":\"$id\",\"rating\":1,\"stars\":5}"
grep -q "unknown field 'stars'" "$work/body" || bad "unknown field: $(cat "$work/body")"
expect 400 POST /api/feedback "{\"response_id\":\"$id\",\"rating\":1,\"correction\":\"\"}"
expect 400 POST /api/feedback '{"rating":1}'
expect 404 POST /api/feedback '{"response_id":"chatcmpl-nope","rating":1}' response_not_found
expect 404 POST /api/feedback "{\"response_id\":\"$id\",\"rating\":1,\"choice\":3}" response_not_found
expect 400 GET "/api/preferences?limit=0"
expect 400 GET "/api/preferences?limit=abc"
expect 200 GET "/api/preferences?limit=1"
[ "$(js "$work/body" o.data.length)" = 1 ] || bad "limit=1: $(cat "$work/body")"
[ "$(req GET /api/feedback)" = 405 ] || bad "GET /api/feedback is not 405"

# kill -9 while requests run: every id a client got back can be rated
pid=$last
: >"$work/acked"
(
    i=0
    while [ $i -lt 100000 ] && [ ! -f "$work/stop" ]; do
        curl -s -m 30 -H 'Content-Type: application/json' "http://127.0.0.1:$port/v1/chat/completions" \
            --data-binary "{\"model\":\"synapse\",\"messages\":[{\"role\":\"user\",\"content\":\"q$i\"}],\"max_tokens\":2}" \
            >"$work/r$i" || break
        a=$(sed -n 's/^{"id":"\([^"]*\)".*/\1/p' "$work/r$i")
        [ -n "$a" ] && echo "$a" >>"$work/acked"
        i=$((i + 1))
    done
) &
loop=$!
i=0
while [ "$(wc -l <"$work/acked")" -lt 5 ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
# and one long stream that is surely in flight at the kill
curl -sN -m 60 -H 'Content-Type: application/json' "http://127.0.0.1:$port/v1/chat/completions" \
    --data-binary '{"model":"synapse","messages":[{"role":"user","content":"long"}],"max_tokens":100000,"stream":true}' \
    >"$work/long" &
long=$!
i=0
while ! grep -q '^data: ' "$work/long" 2>/dev/null && [ $i -lt 300 ]; do sleep 0.05; i=$((i + 1)); done
# $pid is timeout(1); the server is its child
pkill -9 -P $pid
touch "$work/stop"
wait $loop
wait $long
n=$(wc -l <"$work/acked")
[ "$n" -ge 5 ] || bad "only $n answers before the kill"
grep -q '^data: ' "$work/long" || bad "the long stream never started"
! grep -q '^data: \[DONE\]' "$work/long" || bad "the long stream finished before the kill: it cut nothing"
# again on the same data_dir (home-fb), the killed server's log kept aside
mv "$work/fb.log" "$work/fb-killed.log"
start fb --model "$model" --chat-template chatml --threads 1 --parallel 2
lost=0
while read -r a; do
    [ "$(req POST /api/feedback "{\"response_id\":\"$a\",\"rating\":1}")" = 201 ] || lost=$((lost + 1))
done <"$work/acked"
[ $lost -eq 0 ] || bad "$lost of $n acknowledged answers lost to kill -9"
echo "kill -9 after $n acknowledged answers: $lost lost"
# and the pair from before
expect 200 GET /api/preferences
[ "$(js "$work/body" o.data.length)" = 1 ] || bad "preferences after the kill: $(cat "$work/body")"
stop $last fb
finish test_feedback
