#!/bin/sh
# The spawner end to end: queries the base model answers unsure of itself
# (the tiny test model always is) are kept; every few of them the spawner
# plugin reads the recent ones and proposes a specialist for the domain
# among them; GET /api/spawner/proposals and `synapse spawner list` show
# it; POST .../accept and `synapse spawner accept ID` serve it at once
# (in the config file, routable, no restart); what cannot be accepted is
# refused with the reason; proposals survive a restart.
top=${top_builddir:-.}
src=${top_srcdir:-.}
synapse="$top/synapse"
model="${SYN_TESTDATA:-$src/../shared/testdata}/models/qwen2-f16.gguf"
command -v node >/dev/null 2>&1 || { echo "node not found: skipped"; exit 77; }
command -v curl >/dev/null 2>&1 || { echo "curl not found"; exit 1; }
. "$src/tests/server/lib.sh"

ask() {
    curl -s -m 60 -o "$work/body" -H 'Content-Type: application/json' "http://127.0.0.1:$port/v1/chat/completions" \
        --data-binary "{\"model\":\"synapse\",\"messages\":[{\"role\":\"user\",\"content\":\"$1\"}],\"max_tokens\":2}"
}

printf 'specialists: []\n' >"$work/spawn.yaml"
start sp --config "$work/spawn.yaml" --model "$model" --chat-template chatml --threads 1
expect 200 GET /api/spawner/proposals
ok 'o.object === "list" && o.data.length === 0 && /^spawner /.test(o.spawner)' "no proposals at first"
for q in "How do I restart a Kubernetes pod?" "What is a Kubernetes deployment?" "Why does my Kubernetes pod crash?" \
    "How do I scale a Kubernetes deployment?" "Tell me the weather in Oslo" "Which Kubernetes pod logs matter?" \
    "Can a Kubernetes pod have two containers?"; do
    ask "$q"
    ok 'o.synapse.confidence < 0.4 && o.synapse.route.specialists.length === 0' "an unsure answer of the base model"
done
expect 200 GET /api/spawner/proposals
ok 'o.data.length === 1 && o.data[0].name === "kubernetes" && o.data[0].status === "pending" &&
    o.data[0].capabilities.includes("kubernetes") && o.data[0].system_prompt.length > 20 && /kubernetes/i.test(o.data[0].reason)' \
    "a proposal for kubernetes"
id=$(js "$work/body" o.data[0].id)
"$synapse" spawner list --url "http://127.0.0.1:$port/" >"$work/list" 2>&1 || bad "synapse spawner list: $(cat "$work/list")"
grep -q "^$id  *pending  *kubernetes" "$work/list" || bad "synapse spawner list: $(cat "$work/list")"

# what cannot be accepted
expect 404 POST /api/spawner/proposals/999/accept "" proposal_not_found
expect 404 POST /api/spawner/proposals/abc/accept "" not_found
expect 404 POST "/api/spawner/proposals/$id/take" "" not_found
expect 405 GET "/api/spawner/proposals/$id/accept"
"$synapse" spawner accept 999 --url "http://127.0.0.1:$port" 2>"$work/err" && bad "accept 999 succeeded"
grep -q "there is no proposal 999" "$work/err" || bad "accept 999: $(cat "$work/err")"
"$synapse" spawner accept --url "http://127.0.0.1:$port" 2>/dev/null; [ $? -eq 2 ] || bad "accept without an ID: not a usage error"

# accepted: served at once, in the config file, routable
"$synapse" spawner accept "$id" --url "http://127.0.0.1:$port" >"$work/acc" 2>&1 || bad "synapse spawner accept: $(cat "$work/acc")"
grep -q "specialist 'kubernetes' is served as synapse/kubernetes" "$work/acc" || bad "accept said: $(cat "$work/acc")"
expect 200 GET /api/specialists/kubernetes
ok 'o.system_prompt.length > 20 && o.capabilities.includes("kubernetes")' "the accepted specialist"
grep -q "name: \"kubernetes\"" "$work/spawn.yaml" || bad "the accepted specialist is not in the config file: $(cat "$work/spawn.yaml")"
ask "How do I restart a Kubernetes pod?"
ok 'o.synapse.route.specialists.length === 1 && o.synapse.route.specialists[0].name === "kubernetes"' "routed to it"
expect 409 POST "/api/spawner/proposals/$id/accept" "" proposal_accepted
expect 200 GET /api/spawner/proposals
ok "o.data.length === 1 && o.data[0].status === 'accepted'" "the proposal is accepted"
stop $last sp

# after a restart: the proposal as it was, the specialist from the file
cp -r "$work/home-sp" "$work/home-sp3"
start sp3 --config "$work/spawn.yaml" --model "$model" --chat-template chatml --threads 1
expect 200 GET /api/spawner/proposals
ok "o.data.length === 1 && o.data[0].id === $id && o.data[0].status === 'accepted'" "the proposal after a restart"
expect 200 GET /api/specialists/kubernetes
stop $last sp3
finish test_spawner_server
