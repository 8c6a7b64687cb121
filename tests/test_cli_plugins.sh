#!/bin/sh
# `synapse plugins`: lists the test plugins with their status lines, and a
# missing --plugin-dir is a clean error. Run by make check from the build tree.
top=${top_builddir:-.}
synapse="$top/synapse"
dir="$top/tests/plugins/.libs"
out=$(mktemp) || exit 99
errf=$(mktemp) || exit 99
trap 'rm -f "$out" "$errf"' EXIT
fail=0

expect() { # a fixed string that must be one whole line of the listing
    if ! grep -qxF -- "$1" "$out"; then
        echo "missing line: $1" >&2
        fail=1
    fi
}

SYNAPSE_TEST_BACKEND=1 "$synapse" plugins --plugin-dir "$dir" >"$out" 2>"$errf"
rc=$?
cat "$out"
if [ $rc -ne 0 ]; then
    echo "synapse plugins --plugin-dir $dir exited $rc" >&2
    cat "$errf" >&2
    exit 1
fi
if [ -s "$errf" ]; then
    echo "unexpected stderr:" >&2
    cat "$errf" >&2
    fail=1
fi

real=$(cd "$dir" && pwd -P)
expect "NAME                  KIND        VERSION  ABI  STATUS"
expect "test-good_backend     backend     0.1.0    1.6  loaded (probe 1)"
expect "test-good_capability  capability  1.2.3    1.6  loaded (probe 5)"
expect "test-lean_backend     backend     0.1.0    1.6  loaded (probe 1)"
expect "bad_magic.so          -           -        -    refused: bad_magic.so: bad magic 0x12345678, a Synapse plugin has 0x504e5953 (\"SYNP\")"
expect "test-bad_major        capability  1.2.3    2.0  refused: bad_major.so: built for plugin ABI 2.0, this synapse speaks 1.6"
expect "test-newer_minor      capability  1.2.3    1.7  refused: newer_minor.so: needs plugin ABI 1.7, this synapse has 1.6"
expect "test-short            backend     -        1.6  refused: short.so: descriptor is 24 bytes, ABI 1.0 needs at least 64"
expect "no_entry.so           -           -        -    refused: no_entry.so: no synapse_plugin_v1 symbol (not a Synapse plugin?)"
expect "test-probe_zero       capability  1.2.3    1.6  unsupported on this machine"
expect "test-missing_op       backend     0.1.0    1.6  refused: missing_op.so: backend ops table has no matmul() (required since ABI 1.0)"
expect "test-init_fail        capability  1.2.3    1.6  refused: init_fail.so: init() failed: echo device /dev/echo0 is missing second line"
expect "test-good_capability  capability  1.2.3    1.6  refused: shadow_dup.so: shadowed by $real/good_capability.so (both are plugin 'test-good_capability'; the first one found wins)"
expect "test-fact_double      extractor   0.1      1.6  loaded (probe 1)"
expect "test-router_double    router      0.1      1.6  loaded (probe 1)"
expect "test-router_partial   router      0.1      1.6  refused: router_partial.so: router ops table has no outcome() (required since ABI 1.5)"
expect "bad_name.so           capability  1.2.3    1.6  refused: bad_name.so: descriptor has no plugin name, or one that is not 1-63 of [A-Za-z0-9._-] (required since ABI 1.0)"
lines=$(wc -l <"$out")
if [ "$lines" -ne 22 ]; then
    echo "want a header and 21 plugin lines, got $lines lines" >&2
    fail=1
fi

# Without SYNAPSE_TEST_BACKEND the test backend says it is not usable here.
"$synapse" plugins --plugin-dir="$dir" >"$out" 2>"$errf" || fail=1
expect "test-good_backend     backend     0.1.0    1.6  unsupported on this machine"

# A missing directory: one clear line on stderr, nothing on stdout, nonzero.
"$synapse" plugins --plugin-dir /nonexistent >"$out" 2>"$errf"
rc=$?
if [ $rc -eq 0 ] || [ -s "$out" ] ||
    [ "$(cat "$errf")" != "synapse: plugins: plugin directory /nonexistent: No such file or directory" ]; then
    echo "--plugin-dir /nonexistent: rc $rc, stderr: $(cat "$errf")" >&2
    fail=1
fi

# Usage errors exit 2; --help exits 0 and documents the option.
"$synapse" plugins --bogus >/dev/null 2>&1
[ $? -eq 2 ] || { echo "--bogus should exit 2" >&2; fail=1; }
"$synapse" plugins --plugin-dir >/dev/null 2>&1
[ $? -eq 2 ] || { echo "--plugin-dir without a value should exit 2" >&2; fail=1; }
"$synapse" plugins --help | grep -q -- '--plugin-dir DIR' || { echo "--help lacks --plugin-dir" >&2; fail=1; }

exit $fail
