# Helpers for the server tests, sourced by tests/test_server*.sh: a work
# directory removed at exit, start/stop of `synapse serve` on a free port,
# and curl requests checked for status and OpenAI's error shape.
# Needs $synapse; sets $work, $port, $last and $fail.
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

# node_packages: the official client packages (openai, ollama), installed
# once into the build tree under a lock (tests run in parallel); sets $mods
node_packages() {
    mods="$(cd "$top" && pwd)/tests/server-node/node_modules"
    mkdir -p "$top/tests/server-node"
    (
        flock 9
        [ -d "$mods/openai" ] && [ -d "$mods/ollama" ] && exit 0
        cd "$top/tests/server-node" &&
            timeout 180 npm install --no-save --no-audit --no-fund 'openai@^6' 'ollama@^0.6' >/dev/null 2>&1
    ) 9>"$top/tests/server-node/.lock" || { echo "npm install openai ollama failed" >&2; exit 1; }
}

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


# js FILE EXPR: EXPR of the JSON in FILE (as o), printed
js() { node -e 'const o=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8"));process.stdout.write(String(eval(process.argv[2])))' "$1" "$2"; }
# ok EXPR WHAT: EXPR holds of the last response body, else WHAT fails
ok() { js "$work/body" "$1" | grep -q true || bad "$2: $(cat "$work/body")"; }
# param NAME WHAT: the last response is an error naming field NAME
param() { [ "$(js "$work/body" o.error.param)" = "$1" ] || bad "$2: not refused naming '$1': $(cat "$work/body")"; }

# finish: fails on any sanitizer report in the servers' logs, then exits
finish() {
    if grep -q 'ERROR: \(AddressSanitizer\|LeakSanitizer\)\|runtime error:' "$work"/*.log; then
        bad "sanitizer report"; cat "$work"/*.log >&2
    fi
    [ $fail -eq 0 ] && echo "$1 passed"
    exit $fail
}
