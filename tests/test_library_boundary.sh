#!/bin/sh
# libsynapse.so exports exactly the functions the installed headers mark
# SYN_API (nothing of the server, config or CLI), and neither it nor the CPU
# plugin links the HTTP server, JSON or YAML libraries.
set -u
top=${top_builddir:-.}
src=${top_srcdir:-.}
lib="$top/.libs/libsynapse.so"
plugin="$top/backends/cpu/.libs/cpu.so"
command -v nm >/dev/null && command -v readelf >/dev/null || { echo "skip: nm/readelf missing"; exit 77; }
[ -f "$lib" ] && [ -f "$plugin" ] || { echo "FAIL: $lib or $plugin not built"; exit 1; }
fail=0
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT

nm -D --defined-only "$lib" | awk '$2 == "T" || $2 == "D" || $2 == "B" || $2 == "R" {print $3}' | sort -u >"$tmp/exported"
# the declarations: "SYN_API type name(" possibly with pointer stars
sed -n 's/^SYN_API .*[ *]\(syn_[a-z0-9_]*\)(.*/\1/p' "$src"/include/synapse/*.h | sort -u >"$tmp/declared"
n=$(wc -l <"$tmp/exported")
[ "$n" -gt 50 ] || { echo "FAIL: only $n symbols exported"; fail=1; }
extra=$(comm -23 "$tmp/exported" "$tmp/declared")
missing=$(comm -13 "$tmp/exported" "$tmp/declared")
[ -z "$extra" ] || { echo "FAIL: exported but not public API:"; echo "$extra"; fail=1; }
[ -z "$missing" ] || { echo "FAIL: declared SYN_API but not exported:"; echo "$missing"; fail=1; }

for so in "$lib" "$plugin"; do
    bad=$(readelf -d "$so" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | grep -E 'civetweb|json-c|yaml' || true)
    [ -z "$bad" ] || { echo "FAIL: $so links $bad"; fail=1; }
done
[ "$fail" -eq 0 ] && echo "ok: $n symbols exported, all of them public API; no civetweb, json-c or libyaml in libsynapse or the CPU plugin"
exit "$fail"
