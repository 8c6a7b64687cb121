#!/bin/sh
# `synapse serve` against careless and hostile input (issue 24): addresses
# it cannot listen on, null API keys, NUL characters in requests, signals
# that used to kill it, and a configuration reloaded on SIGHUP.
top=${top_builddir:-.}
src=${top_srcdir:-.}
synapse="$top/synapse"
model="${SYN_TESTDATA:-$src/../shared/testdata}/models/qwen2-chat-Q8_0.gguf"
command -v curl >/dev/null 2>&1 || { echo "curl not found: skipped"; exit 77; }
. "$src/tests/server/lib.sh"

# refused FILE PATTERN WHAT: the server must not start, and must say why
refused() {
    if SYNAPSE_HOME="$work/home-cfg" timeout 20 "$synapse" serve --port 0 --config "$1" 2>"$work/err"; then
        bad "$3 was accepted"
    elif ! grep -q "$2" "$work/err"; then
        bad "$3: wrong message: $(cat "$work/err")"
    fi
}
mkdir -p "$work/cfg"
for h in 999.1.1.1 127.0.0.300 localhost 1.2.3; do
    printf 'host: %s\n' "$h" >"$work/cfg/host.yaml"
    refused "$work/cfg/host.yaml" "host.yaml:1: host '$h' is not an IP address" "host $h"
done
SYNAPSE_HOME="$work/home-cfg" "$synapse" serve --port 0 --host 999.1.1.1 2>"$work/err" && bad "--host 999.1.1.1 accepted"
grep -q "host '999.1.1.1' is not an IP address" "$work/err" || bad "--host message: $(cat "$work/err")"
printf 'api_keys: [~]\n' >"$work/cfg/keys.yaml"
refused "$work/cfg/keys.yaml" "keys.yaml:1: 'api_keys' entries must be non-empty strings" "api_keys: [~]"
printf 'api_keys: [null]\n' >"$work/cfg/keys.yaml"
refused "$work/cfg/keys.yaml" "'api_keys' entries must be non-empty strings" "api_keys: [null]"

printf 'chat_template: vicuna\n' >"$work/cfg/tmpl.yaml"
refused "$work/cfg/tmpl.yaml" "chat_template: unknown chat template 'vicuna'" "chat_template: vicuna"
printf 'api_keys: [k1, k2, k3, k4, k5, k6, k7, k8, k9, k10, k11, k12, k13, k14, k15, k16]\n' >"$work/cfg/keys.yaml"
SYNAPSE_HOME="$work/home-cfg" "$synapse" serve --port 0 --config "$work/cfg/keys.yaml" --api-key k17 2>"$work/err" &&
    bad "a 17th API key was accepted"
grep -q "at most 16 in all" "$work/err" || bad "17 keys: wrong message: $(cat "$work/err")"

# values that say nothing usable are refused (and specialists without a
# model to serve them, and plugin kinds a config cannot name)
printf 'learning: sometimes\n' >"$work/cfg/later.yaml"
refused "$work/cfg/later.yaml" "later.yaml:1:" "learning: sometimes"
printf 'plugins:\n  specialist: /x.so\n' >"$work/cfg/later.yaml"
refused "$work/cfg/later.yaml" "name it as 'plugin:' in its 'specialists' entry" "plugins.specialist"
printf 'cloud: yes\n' >"$work/cfg/later.yaml"
refused "$work/cfg/later.yaml" "later.yaml:1: 'cloud: true' says nothing of the upstream" "cloud: yes"
printf 'specialists:\n  - name: coder\n' >"$work/cfg/later.yaml"
refused "$work/cfg/later.yaml" "1 specialist is configured, but there is no model to serve it" "a specialist without a model"

# batch_rows below the 32 logit rows the scheduler used to want
printf 'limits:\n  batch_rows: 20\napi_keys: [first-key]\n' >"$work/cfg/serve.yaml"
start main --config "$work/cfg/serve.yaml" --model "$model" --parallel 2 --ctx-size 4096 --threads 1 -v
srv=$(ps -o pid= --ppid "$last" | tr -d ' ') # synapse itself, under timeout(1)
[ -n "$srv" ] || { bad "no server process under $last"; srv=$last; }
key() { # KEY PATH BODY -> status
    curl -s -m 60 -o "$work/body" -w '%{http_code}' -H "Authorization: Bearer $1" \
        ${3:+-H 'Content-Type: application/json' --data-binary "$3"} "http://127.0.0.1:$port$2"
}
chat='{"model":"synapse","messages":[{"role":"user","content":"hi"}],"max_tokens":3,"temperature":0}'
[ "$(key first-key /v1/chat/completions "$chat")" = 200 ] || bad "batch_rows 20: chat failed: $(cat "$work/body")"

# -v logs each request; a path of any bytes is echoed as printable ASCII
grep -q 'POST /v1/chat/completions 200 ' "$work/main.log" || bad "-v logged no request line"
got=$(key first-key '/%ff%fe%01x')
[ "$got" = 404 ] || bad "a path of odd bytes: status $got"
LC_ALL=C grep -q '[^ -~]' "$work/body" && bad "odd bytes of the path echoed into the error: $(od -c "$work/body" | head -3)"

# CORS: no origin is allowed unless configured, and a refused origin gets
# nothing done, preflight or "simple" text/plain POST alike
origin() { # ORIGIN METHOD PATH [BODY] -> status, headers in $work/hdr
    curl -s -m 30 -o "$work/body" -D "$work/hdr" -w '%{http_code}' -X "$2" -H "Origin: $1" \
        -H 'Authorization: Bearer first-key' -H 'Access-Control-Request-Method: POST' \
        ${4:+-H 'Content-Type: text/plain' --data-binary "$4"} "http://127.0.0.1:$port$3"
}
[ "$(origin https://evil.example OPTIONS /v1/chat/completions)" = 403 ] || bad "preflight from any origin passes"
grep -qi 'Access-Control-Allow-Origin' "$work/hdr" && bad "a refused preflight carries Allow-Origin"
[ "$(origin https://evil.example POST /v1/chat/completions "$chat")" = 403 ] || bad "a text/plain cross-origin POST ran"
[ "$(origin "http://127.0.0.1:$port" GET /health)" = 200 ] || bad "the server's own origin was refused"

# abandoned requests: a client that leaves a non-streamed request (which,
# without max_tokens, would run to the 4096-token context) frees its slot
clients=""
# (seeds 1 to 4 draw no end-of-generation token in their first 1,500: a
# random one may end the answer before the client leaves)
for i in 1 2 3 4; do
    curl -s -m 0.3 -o /dev/null -H 'Authorization: Bearer first-key' --data-binary \
        '{"model":"synapse","prompt":"x","temperature":1,"seed":'$i'}' "http://127.0.0.1:$port/v1/completions" &
    clients="$clients $!"
done
wait $clients
i=0
while ! { key first-key /api/status >/dev/null && grep -q '"active":0,"queued":0' "$work/body"; } && [ $i -lt 20 ]; do
    sleep 0.1; i=$((i + 1))
done
grep -q '"active":0,"queued":0' "$work/body" || bad "abandoned requests still hold slots 2 s later: $(cat "$work/body")"
got=$(key first-key /v1/completions '{"model":"synapse","prompt":"x","max_tokens":2}')
[ "$got" = 200 ] || bad "a request after abandoned ones: $got"
# (a handler counts its request as it returns, just after the slot is free)
i=0
while ! { key first-key /metrics >/dev/null &&
          grep -q 'synapse_requests_total{route="/v1/completions",status="499"} 4' "$work/body"; } && [ $i -lt 20 ]; do
    sleep 0.1; i=$((i + 1))
done
grep -q 'synapse_requests_total{route="/v1/completions",status="499"} 4' "$work/body" ||
    bad "the abandoned requests are not counted as 499: $(grep 'completions' "$work/body")"

# NUL characters would cut a string short in C: refused wherever they are
for body in '{"model":"synapse\u0000evil","messages":[{"role":"user","content":"hi"}]}' \
            '{"model":"synapse","messages":[{"role":"user","content":"hi\u0000there"}]}' \
            '{"model":"synapse","messages":[{"role":"user","content":"hi"}],"stop":["a\u0000"]}' \
            '{"model":"synapse","messages":[{"role":"user","content":"hi","na\u0000me":1}]}'; do
    got=$(key first-key /v1/chat/completions "$body")
    { [ "$got" = 400 ] && grep -q 'NUL character' "$work/body"; } || bad "NUL in $body: $got $(cat "$work/body")"
done
got=$(key first-key /v1/completions '{"model":"synapse","prompt":"x\u0000y","max_tokens":1}')
[ "$got" = 400 ] || bad "NUL in a prompt: $got"
got=$(key first-key /v1/embeddings '{"model":"synapse","input":"x\u0000y"}')
[ "$got" = 400 ] || bad "NUL in an embedding input: $got"
# an escaped backslash before u0000 is just text
got=$(key first-key /v1/chat/completions \
      '{"model":"synapse","messages":[{"role":"user","content":"C:\\u0000"}],"max_tokens":1}')
[ "$got" = 200 ] || bad "an escaped backslash + u0000 was refused: $got $(cat "$work/body")"

# signals that used to end the process are logged and ignored
for sig in USR1 USR2 ALRM; do
    kill -"$sig" "$srv"
    sleep 0.3
    kill -0 "$srv" 2>/dev/null || { bad "SIG$sig killed the server"; break; }
    [ "$(key first-key /health)" = 200 ] || bad "after SIG$sig: /health failed"
done
grep -q 'ignoring signal' "$work/main.log" || bad "no log line for the ignored signals"

# SIGHUP: new keys and the per-request limits take effect, a changed queue
# limit needs a restart, a broken file changes nothing
printf 'limits:\n  batch_rows: 20\n  max_queue: 7\n  max_tokens: 3\n  max_body_bytes: 2048\napi_keys: [second-key]\ncontext_size: 512\nknowledge:\n  prompt_tokens: 0\n' \
    >"$work/cfg/serve.yaml"
kill -HUP "$srv"
i=0
while ! grep -q 'API key' "$work/main.log" && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
[ "$(key first-key /v1/models)" = 401 ] || bad "the old key still works after SIGHUP"
[ "$(key second-key /v1/models)" = 200 ] || bad "the new key does not work after SIGHUP"
grep -q "'limits.batch_rows' changed" "$work/main.log" && bad "an unchanged setting was reported as changed"
[ "$(key second-key /v1/completions '{"model":"synapse","prompt":"x","max_tokens":50}')" = 200 ] &&
    grep -q '"completion_tokens":3' "$work/body" || bad "limits.max_tokens 3 after SIGHUP: $(cat "$work/body")"
big=$(python3 -c "print('{\"model\":\"synapse\",\"prompt\":\"' + 'x' * 3000 + '\"}')")
[ "$(key second-key /v1/completions "$big")" = 413 ] || bad "limits.max_body_bytes 2048 after SIGHUP: $(cat "$work/body")"
grep -q "reload: knowledge.prompt_tokens is 0" "$work/main.log" || bad "knowledge.prompt_tokens was not reloaded"
grep -q "reload: 'limits.max_queue' changed; it takes effect at the next restart" "$work/main.log" ||
    bad "a changed queue limit was not reported: $(cat "$work/main.log")"
# --ctx-size on the command line still wins over the file
grep -q "'context_size' changed" "$work/main.log" && bad "a setting the flags fix was reported as changed"
printf 'api_keys: [third-key\n' >"$work/cfg/serve.yaml"
kill -HUP "$srv"
i=0
while ! grep -q 'configuration is unchanged' "$work/main.log" && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
grep -q 'configuration is unchanged' "$work/main.log" || bad "a broken file on SIGHUP was not reported"
[ "$(key second-key /v1/models)" = 200 ] || bad "a broken file on SIGHUP changed the keys"
[ "$(key second-key /v1/chat/completions "$chat")" = 200 ] || bad "chat after the reloads failed"
stop $last main

# cors: one origin allowed, the rest refused
start cors --model "$model" --parallel 1 --ctx-size 256 --threads 1 --cors https://app.example --api-key first-key
[ "$(origin https://app.example OPTIONS /v1/chat/completions)" = 204 ] || bad "the allowed origin's preflight failed"
grep -qi '^Access-Control-Allow-Origin: https://app.example' "$work/hdr" || bad "no Allow-Origin for the allowed origin"
[ "$(origin https://evil.example OPTIONS /v1/chat/completions)" = 403 ] || bad "another origin's preflight passed"
[ "$(origin https://evil.example POST /v1/chat/completions "$chat")" = 403 ] || bad "another origin's POST ran"
stop $last cors

# a client that stalls while sending its request is dropped after
# limits.request_timeout_s
printf 'limits:\n  request_timeout_s: 1\n' >"$work/cfg/slow.yaml"
start slow --config "$work/cfg/slow.yaml"
python3 - "$port" <<'PY' || bad "a stalled client was not dropped within 3 s"
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
s.settimeout(5)
t = time.time()
try:
    s.recv(1)
except socket.timeout:
    sys.exit(1)
sys.exit(0 if time.time() - t < 3 else 1)
PY
[ "$(key x /health)" = 200 ] || bad "/health after a stalled client"
# slowloris: a byte of head every 0.3 s keeps each read short, but the whole
# request must be in within request_timeout_s (1 s here)
python3 - "$port" <<'PY' || bad "a client trickling its request was not cut off at the deadline"
import select, socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
t = time.time()
got = b""
try:
    for b in b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"y" * 40:
        if select.select([s], [], [], 0)[0]:
            got = s.recv(200)  # the server answered (408) or closed
            break
        s.sendall(bytes([b]))
        time.sleep(0.3)
except (BrokenPipeError, ConnectionResetError):
    pass
sys.exit(0 if time.time() - t < 3 and (not got or b" 408 " in got) else 1)
PY
stop $last slow

# the gate: 1,000 idle connections hold no worker, so /health and a
# generation still answer; heads that two readers could read two ways are
# refused; absolute-form targets are served
start gate --model "$model" --parallel 2 --ctx-size 256 --threads 1
python3 - "$port" <<'PY' || bad "1,000 idle connections block the server"
import json, resource, socket, sys, urllib.request
port = int(sys.argv[1])
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))
idle = []
for i in range(1000):
    c = socket.create_connection(("127.0.0.1", port))
    if i % 2:
        c.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\n")  # half a head
    idle.append(c)
base = "http://127.0.0.1:%d" % port
with urllib.request.urlopen(base + "/health", timeout=5) as r:
    assert r.status == 200
req = urllib.request.Request(base + "/v1/completions", method="POST",
    data=json.dumps({"model": "synapse", "prompt": "x", "max_tokens": 3}).encode(),
    headers={"Content-Type": "application/json"})
with urllib.request.urlopen(req, timeout=10) as r:
    body = json.load(r)
    assert body["usage"]["completion_tokens"] == 3, body
for c in idle:
    c.close()
PY
raw() { # raw REQUEST -> the status line's code ("" if closed without one)
    printf '%b' "$1" | timeout 5 python3 -c "
import socket, sys
s = socket.create_connection(('127.0.0.1', $port))
s.sendall(sys.stdin.buffer.read())
d = b''
while True:
    b = s.recv(4096)
    if not b: break
    d += b
print(d.split(b' ')[1].decode() if d.startswith(b'HTTP/') else '')
"
}
body='{"model":"synapse","prompt":"x","max_tokens":1}'
[ "$(raw "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 47\r\nContent-Length: 5\r\n\r\n$body")" = 400 ] ||
    bad "two Content-Length headers that differ were accepted"
[ "$(raw "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 47\r\nTransfer-Encoding: chunked\r\n\r\n$body")" = 400 ] ||
    bad "Content-Length with Transfer-Encoding was accepted"
[ "$(raw "POST /v1/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2f\r\n$body\r\n0\r\n\r\n")" = 411 ] ||
    bad "a chunked body did not get 411"
[ "$(raw "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 47\r\nContent-Length: 47\r\n\r\n$body")" = 200 ] ||
    bad "two equal Content-Length headers were refused"
[ "$(raw "GET http://127.0.0.1:$port/health HTTP/1.1\r\nHost: x\r\n\r\n")" = 200 ] ||
    bad "an absolute-form target got no answer"
[ "$(raw "GET health HTTP/1.1\r\nHost: x\r\n\r\n")" = 400 ] || bad "a target that is not a path was accepted"
[ "$(raw "GET /health HTTP/1.1\r\n Folded: x\r\n\r\n")" = 400 ] || bad "a folded header line was accepted"
# a body over max_body_bytes sent without Expect: the 413 still arrives
# (the gate reads and drops the rest instead of resetting the connection)
python3 - "$port" <<'PY' || bad "a client sending a large body did not get its 413"
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
n = 5 << 20
s.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % n)
# as HTTP clients do: send the whole body, then read (one whose send fails
# never reads the answer, as Python's urllib)
try:
    for _ in range(n // 65536):
        s.sendall(b"x" * 65536)
    got = s.recv(200)
except (BrokenPipeError, ConnectionResetError):
    got = b""
sys.exit(0 if got.startswith(b"HTTP/1.1 413 ") else 1)
PY
stop $last gate

# a large embedding request shares the scheduler: generation goes on beside
# it, /api/status and /metrics show it, and a client that leaves stops it
start embed --model "$model" --parallel 2 --ctx-size 512 --threads 1
python3 - "$port" <<'PY' || bad "embeddings do not share the scheduler"
import json, sys, threading, time, urllib.request
base = "http://127.0.0.1:%s" % sys.argv[1]
inputs = [("word%d " % i) * 60 for i in range(1500)]  # 330k tokens, seconds on this model
def post(path, obj, timeout=120):
    req = urllib.request.Request(base + path, data=json.dumps(obj).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return json.load(r)
def status():
    return json.load(urllib.request.urlopen(base + "/api/status", timeout=5))
done = {}
def embed():
    done["e"] = post("/v1/embeddings", {"model": "synapse", "input": inputs})
th = threading.Thread(target=embed)
th.start()
deadline = time.time() + 30  # parsing and tokenizing 1,500 inputs comes first (slow under ASan)
while status()["embedding"] != 1 and "e" not in done and time.time() < deadline:
    time.sleep(0.02)
assert status()["embedding"] == 1, status()
t = time.time()
c = post("/v1/completions", {"model": "synapse", "prompt": "x", "max_tokens": 8, "temperature": 0}, timeout=30)
took = time.time() - t
assert c["usage"]["completion_tokens"] == 8, c
assert "e" not in done and status()["embedding"] == 1, "the embedding ended first: no overlap to test"
assert took < 1.0, "a completion waited %.2f s behind the embedding" % took
th.join()
assert len(done["e"]["data"]) == 1500 and done["e"]["usage"]["prompt_tokens"] > 300000, done["e"]["usage"]
m = urllib.request.urlopen(base + "/metrics", timeout=5).read().decode()
rows = [l for l in m.splitlines() if l.startswith("synapse_embedding_rows_total ")]
assert rows and int(rows[0].split()[1]) > 300000, rows
# a client that leaves: its embedding stops at the next chunk
try:
    post("/v1/embeddings", {"model": "synapse", "input": inputs}, timeout=0.4)
except Exception:
    pass
deadline = time.time() + 1.0
while status()["embedding"] and time.time() < deadline:
    time.sleep(0.05)
assert status()["embedding"] == 0, "an abandoned embedding still runs"
PY
stop $last embed

# IPv6, where the machine has it: the gate listens, whatever civetweb was built with
if python3 -c "import socket; s = socket.socket(socket.AF_INET6); s.bind(('::1', 0))" 2>/dev/null; then
    SYNAPSE_HOME="$work/home-v6" timeout 60 "$synapse" serve --host ::1 --port 0 >"$work/v6.log" 2>&1 &
    v6=$!
    i=0
    while ! grep -q 'listening on' "$work/v6.log" && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
    v6port=$(sed -n 's/.*listening on http:\/\/\[::1\]:\([0-9]*\).*/\1/p' "$work/v6.log")
    [ -n "$v6port" ] && curl -s -m 5 -o /dev/null -w '%{http_code}' "http://[::1]:$v6port/health" | grep -q 200 ||
        bad "IPv6 ::1: $(cat "$work/v6.log")"
    kill -TERM $v6; wait $v6
fi

# requests still running or queued when the server stops get 503, not 500
start stopping --model "$model" --parallel 1 --ctx-size 4096 --threads 1
clients=""
for i in 1 2; do
    curl -s -m 60 -o "$work/stop-$i" -w '%{http_code}' --data-binary \
        '{"model":"synapse","prompt":"x","temperature":1,"seed":'$i'}' "http://127.0.0.1:$port/v1/completions" >"$work/code-$i" &
    clients="$clients $!"
done
sleep 0.5
stop $last stopping
wait $clients
for i in 1 2; do
    [ "$(cat "$work/code-$i")" = 503 ] && grep -q 'shutting_down' "$work/stop-$i" ||
        bad "request $i at shutdown: $(cat "$work/code-$i") $(cat "$work/stop-$i")"
done
finish "server hardening tests"
