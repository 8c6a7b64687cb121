#!/bin/sh
# The model commands' contracts: logits JSONL (golden protocol, adapters),
# run (greedy = llama.cpp's greedy tokens, seeds, stop strings), bench --json,
# and one clear stderr line plus a non-zero exit for every kind of bad input.
set -u
S=${top_builddir:-.}/synapse
T=${SYN_TESTDATA:-../shared/testdata}
PY=$(command -v python3) || { echo "python3 not found"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
bad() { echo "FAIL: $*"; fail=1; }

# --- logits: same JSONL as the golden file, within the f16 tolerance
prompt=$("$PY" -c "import json;print(' '.join(map(str,json.loads(open('$T/golden/qwen2-f16.jsonl').readline())['tokens'])))")
"$S" logits -m "$T/models/qwen2-f16.gguf" -n 4 --tokens "$prompt" -t 2 > "$tmp/l.jsonl" || bad "logits exit"
"$PY" - "$tmp/l.jsonl" "$T/golden/qwen2-f16.jsonl" <<'PYEOF' || bad "logits output"
import json, sys
ours = [json.loads(l) for l in open(sys.argv[1])]
gold = [json.loads(l) for l in open(sys.argv[2])][:4]
assert len(ours) == 4, len(ours)
for o, g in zip(ours, gold):
    assert o["prompt"] == g["prompt"] and o["tokens"] == g["tokens"] and o["step"] == g["step"], o
    assert len(o["top"]) == 8
    mine = dict(o["top"])
    assert o["top"][0][0] == g["top"][0][0], (o["top"][0], g["top"][0])
    for i, v in g["top"]:
        if i in mine:
            assert abs(mine[i] - v) < 0.1, (i, mine[i], v)
PYEOF
"$S" logits -m "$T/models/qwen2-f16.gguf" -n 2 --tokens "$prompt" --lora "$T/models/lora-a.gguf" --lora-scale 0.5 \
  | "$PY" -c "
import json,sys
g=json.loads(open('$T/golden/qwen2-f16+lora-a@0.5.jsonl').readline())
l=[json.loads(x) for x in sys.stdin]
assert l[0]['lora']=='lora-a.gguf' and l[0]['lora_scale']==0.5, l[0]
assert l[0]['top'][0][0]==g['top'][0][0]" || bad "logits with adapter"
# the same adapter as a PEFT directory (tests/test_lora_peft writes it): the same logits, in run and bench too
mkdir "$tmp/peft-a"
"${top_builddir:-.}/tests/test_lora_peft" --write-peft "$tmp/peft-a" || bad "writing the PEFT copy"
for a in "$T/models/lora-a.gguf" "$tmp/peft-a" "$tmp/peft-a/adapter_model.safetensors"; do
    "$S" logits -m "$T/models/qwen2-f16.gguf" -n 2 --tokens "$prompt" --lora "$a" --lora-scale 0.5 -t 2 \
        | "$PY" -c "import json,sys; print(json.dumps([json.loads(x)['top'] for x in sys.stdin]))"
done > "$tmp/peft.txt" || bad "logits --lora PEFT exit"
[ "$(sort -u "$tmp/peft.txt" | wc -l)" = 1 ] && [ "$(wc -l < "$tmp/peft.txt")" = 3 ] || bad "logits: PEFT and GGUF copies differ"
"$S" run -m "$T/models/qwen2-f16.gguf" -p "hello there" -n 12 --temp 0 -t 2 --show-ids --lora "$tmp/peft-a" \
    >/dev/null 2> "$tmp/run-peft.ids" || bad "run --lora PEFT exit"
"$S" run -m "$T/models/qwen2-f16.gguf" -p "hello there" -n 12 --temp 0 -t 2 --show-ids \
    --lora "$T/models/lora-a.gguf" >/dev/null 2> "$tmp/run-gguf.ids" || bad "run --lora GGUF exit"
"$S" run -m "$T/models/qwen2-f16.gguf" -p "hello there" -n 12 --temp 0 -t 2 --show-ids >/dev/null 2> "$tmp/run-base.ids"
cmp -s "$tmp/run-peft.ids" "$tmp/run-gguf.ids" && [ -s "$tmp/run-gguf.ids" ] || bad "run: PEFT and GGUF copies differ"
cmp -s "$tmp/run-base.ids" "$tmp/run-gguf.ids" && bad "run: the adapter changes nothing (the comparison cannot fail)"
"$S" bench -m "$T/models/qwen2-f16.gguf" -t 2 --prompt 8 --gen 2 --parallel 2 --lora "$tmp/peft-a" --json \
    | "$PY" -c "import json,sys; b=json.load(sys.stdin); assert b['adapters']==1 and b['adapter_ratio']>0, b" \
    || bad "bench --lora PEFT"

# --- run: greedy chat generation gives llama.cpp's greedy tokens
want=$("$PY" -c "import json;print(' '.join(str(json.loads(l)['top'][0][0]) for l in open('$T/golden/qwen2-chat-Q8_0.jsonl')))")
CHAT="$T/models/qwen2-chat-Q8_0.gguf"
"$S" run -m "$CHAT" --system "You are a helpful assistant." -p "Write a Python function to check if a number is prime" \
  --temperature 0 -n 16 --show-ids > "$tmp/run.txt" 2> "$tmp/run.err" || bad "run exit"
got=$(sed -n 's/^synapse: run: ids: //p' "$tmp/run.err")
[ "$got" = "$want" ] || bad "greedy ids: got '$got' want '$want'"
[ -s "$tmp/run.txt" ] || bad "run printed nothing"

# seeds: same seed same text, another seed other text
"$S" run -m "$CHAT" -p "Hello" -n 24 --seed 11 > "$tmp/s1.txt" || bad "run seed"
"$S" run -m "$CHAT" -p "Hello" -n 24 --seed 11 > "$tmp/s2.txt" || bad "run seed"
"$S" run -m "$CHAT" -p "Hello" -n 24 --seed 12 > "$tmp/s3.txt" || bad "run seed"
cmp -s "$tmp/s1.txt" "$tmp/s2.txt" || bad "same seed, different text"
cmp -s "$tmp/s1.txt" "$tmp/s3.txt" && bad "different seeds, same text"

# stop strings: the text ends right before the first occurrence
full=$(cat "$tmp/run.txt")
"$S" run -m "$CHAT" --system "You are a helpful assistant." -p "Write a Python function to check if a number is prime" \
  --temperature 0 -n 16 --stop "specific" > "$tmp/stop.txt" || bad "run --stop"
"$PY" - "$tmp/run.txt" "$tmp/stop.txt" <<'PYEOF' || bad "stop string"
import sys
full = open(sys.argv[1], encoding="utf-8").read().rstrip("\n")
cut = open(sys.argv[2], encoding="utf-8").read().rstrip("\n")
assert "specific" in full, full
assert cut == full[:full.index("specific")], (cut, full)
PYEOF

# --- bench --json: one JSON object on one line
"$S" bench -m "$T/models/qwen2-Q8_0.gguf" -t 2 --prompt 16 --gen 8 --json > "$tmp/b.json" || bad "bench exit"
[ "$(wc -l < "$tmp/b.json")" -eq 1 ] || bad "bench printed more than one line"
"$PY" -c "
import json; b=json.load(open('$tmp/b.json'))
assert b['prefill_tok_s'] > 0 and b['decode_tok_s'] > 0, b" || bad "bench json"
# --parallel: P sequences decoded together, their total in one more field
"$S" bench -m "$T/models/qwen2-Q8_0.gguf" -t 2 --prompt 16 --gen 8 --parallel 3 --json > "$tmp/p.json" || bad "bench --parallel exit"
"$PY" -c "
import json; b=json.load(open('$tmp/p.json'))
assert b['parallel'] == 3 and b['parallel_decode_tok_s'] > 0, b" || bad "bench --parallel json"
# --mixed: those steps with N prompt rows behind the P rows, ms per step
"$S" bench -m "$T/models/qwen2-Q8_0.gguf" -t 2 --prompt 16 --gen 4 --parallel 2 --mixed 20 --json > "$tmp/m.json" || bad "bench --mixed exit"
"$PY" -c "
import json; b=json.load(open('$tmp/m.json'))
assert b['parallel'] == 2 and b['mixed'] == 20 and b['mixed_step_ms'] > 0, b" || bad "bench --mixed json"
# --lora: the parallel rows take the adapters in turn
"$S" bench -m "$T/models/qwen2-f16.gguf" -t 2 --prompt 8 --gen 4 --parallel 3 --lora "$T/models/lora-a.gguf" \
    --lora "$T/models/lora-b.gguf" --json > "$tmp/l.json" || bad "bench --lora exit"
"$PY" -c "
import json; b=json.load(open('$tmp/l.json'))
assert b['adapters'] == 2 and b['parallel_decode_tok_s'] > 0, b" || bad "bench --lora json"

# --- bad input: one line on stderr, non-zero exit
expect_error() { # expect_error WHAT PATTERN CMD...
  what=$1 pat=$2; shift 2
  "$@" > /dev/null 2> "$tmp/err"; rc=$?
  [ "$rc" -ne 0 ] || bad "$what: exit 0"
  [ "$(wc -l < "$tmp/err")" -eq 1 ] || { bad "$what: stderr not one line:"; cat "$tmp/err"; }
  grep -q "$pat" "$tmp/err" || { bad "$what: no '$pat' in:"; cat "$tmp/err"; }
}
echo "just text" > "$tmp/not.gguf"
expect_error "missing file" "no-such.gguf" "$S" logits -m "$tmp/no-such.gguf" --tokens 1
expect_error "not gguf" "not.gguf" "$S" logits -m "$tmp/not.gguf" --tokens 1
expect_error "bad flag" "unrecognized\|unknown\|invalid" "$S" bench -m "$CHAT" --frobnicate
expect_error "bad number" "integer" "$S" bench -m "$CHAT" --gen many
expect_error "bad parallel" "parallel" "$S" bench -m "$CHAT" --parallel 0
expect_error "mixed alone" "needs --parallel" "$S" bench -m "$CHAT" --mixed 4
expect_error "lora alone" "needs --parallel" "$S" bench -m "$CHAT" --lora "$T/models/lora-a.gguf"
expect_error "lora missing" "no-such-lora" "$S" bench -m "$T/models/qwen2-f16.gguf" --parallel 2 --lora "$tmp/no-such-lora.gguf"
expect_error "bad token" "outside the vocabulary" "$S" logits -m "$CHAT" --tokens "99999999"
expect_error "missing model" "required" "$S" run -p hi
expect_error "lora scale alone" "needs --lora" "$S" run -m "$CHAT" -p hi --lora-scale 0.5
expect_error "seed past 2^64" "seed" "$S" run -m "$CHAT" -p hi --seed 99999999999999999999999
expect_error "unknown template" "unknown chat template 'vicuna'" "$S" run -m "$CHAT" -p hi --chat --chat-template vicuna
"$PY" - "$tmp" <<'PYEOF'
# a GGUF of an unsupported architecture, and one whose tensor type is unknown to us
import struct, sys
def gguf(path, kv, tensors):
    out = bytearray(b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(kv)))
    s = lambda x: struct.pack("<Q", len(x)) + x.encode()
    for k, v in kv:
        out += s(k) + struct.pack("<I", 8) + s(v)
    off = 0
    for name, typ, ne, nbytes in tensors:
        out += s(name) + struct.pack("<I", len(ne)) + b"".join(struct.pack("<Q", d) for d in ne) + struct.pack("<IQ", typ, off)
        off += (nbytes + 31) // 32 * 32
    out += b"\0" * ((-len(out)) % 32) + b"\0" * off
    open(path, "wb").write(out)
d = sys.argv[1]
gguf(d + "/mamba.gguf", [("general.architecture", "mamba")], [])
gguf(d + "/iq2.gguf", [("general.architecture", "qwen2")], [("token_embd.weight", 16, [256, 4], 66 * 4)])
PYEOF
expect_error "unsupported arch" "mamba" "$S" logits -m "$tmp/mamba.gguf" --tokens 1
expect_error "unsupported type" "type" "$S" logits -m "$tmp/iq2.gguf" --tokens 1

exit $fail
