#!/bin/sh
# bench/context.sh: decode speed at a short and a long context, run
# alternately RUNS times; prints the median of each and how much slower
# the long one is.
#
#   bench/context.sh MODEL [SHORT [LONG]]     defaults: 64 1024
#
# Environment: THREADS (2), GEN (64), RUNS (5), SYNAPSE (./synapse).
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
SYNAPSE=${SYNAPSE:-$here/synapse}
THREADS=${THREADS:-2} GEN=${GEN:-64} RUNS=${RUNS:-5}
[ $# -ge 1 ] || { echo "usage: bench/context.sh MODEL [SHORT [LONG]]" >&2; exit 2; }
model=$1 short=${2:-64} long=${3:-1024}
[ -x "$SYNAPSE" ] || { echo "bench/context.sh: build synapse first ($SYNAPSE)" >&2; exit 1; }

decode() { # PROMPT -> decode tok/s
    "$SYNAPSE" bench -m "$model" -t "$THREADS" --prompt "$1" --gen "$GEN" --json |
        sed -n 's/.*"decode_tok_s":\([0-9.]*\).*/\1/p'
}
median() { sort -n | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

s_file=$(mktemp) l_file=$(mktemp)
trap 'rm -f "$s_file" "$l_file"' EXIT
i=0
while [ "$i" -lt "$RUNS" ]; do
    decode "$short" >>"$s_file"
    decode "$long" >>"$l_file"
    i=$((i + 1))
done
s=$(median <"$s_file") l=$(median <"$l_file")
echo "decode tok/s, median of $RUNS alternating runs, $THREADS threads, $GEN tokens:"
echo "  context $short: $s"
echo "  context $long: $l"
awk -v s="$s" -v l="$l" -v a="$long" -v b="$short" 'BEGIN {printf "  at %d, %.1f%% slower than at %d\n", a, (1 - l / s) * 100, b}'
