# Sourced by the bench scripts: bench_serve LOG ARGS... starts `synapse
# serve --port 0 ARGS...` from $build with SYNAPSE_HOME=$home, waits until
# it listens and sets $pid and $port (exits with the log if it never does).
bench_serve() {
    log=$1; shift
    SYNAPSE_HOME="$home" "$build/synapse" serve --port 0 "$@" >"$log" 2>&1 &
    pid=$!
    i=0
    until grep -q 'listening on' "$log" 2>/dev/null; do
        sleep 0.2; i=$((i + 1))
        if [ $i -gt 300 ] || ! kill -0 $pid 2>/dev/null; then cat "$log"; exit 1; fi
    done
    port=$(sed -n 's/.*listening on http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$log")
}
