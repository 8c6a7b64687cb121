#!/bin/sh
# `synapse tokenize`: ids on one line (no BOS) as llama.cpp gives them, with
# and without --special, from -p and -f (stdin too), and one clear stderr
# line plus the right exit status for every kind of bad input.
set -u
S=${top_builddir:-.}/synapse
T=${SYN_TESTDATA:-../shared/testdata}
V=$T/vocab
[ -r "$V/ggml-vocab-qwen2.gguf" ] || { echo "test data not found"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
bad() { echo "FAIL: $*"; fail=1; }

expect() { # expect WANT CMD... : stdout must be WANT, exit 0
    want=$1
    shift
    got=$("$@" 2> "$tmp/err") || bad "exit $? from: $*"
    [ "$got" = "$want" ] || bad "$*: got '$got' want '$want'"
    [ -s "$tmp/err" ] && bad "$*: unexpected stderr: $(cat "$tmp/err")"
}

expect "9707 1879" "$S" tokenize -m "$V/ggml-vocab-qwen2.gguf" -p "Hello world"
expect "15043 3186" "$S" tokenize -m "$V/ggml-vocab-llama-spm.gguf" -p "Hello world"
expect "9906 1917" "$S" tokenize -m "$V/ggml-vocab-llama-bpe.gguf" --prompt "Hello world"
expect "" "$S" tokenize -m "$V/ggml-vocab-qwen2.gguf" -p ""

# special tokens: parsed only with --special
expect "151644 872 198 13048 151645" "$S" tokenize -m "$V/ggml-vocab-qwen2.gguf" -p "<|im_start|>user
Hi<|im_end|>" --special
plain=$("$S" tokenize -m "$V/ggml-vocab-qwen2.gguf" -p "<|im_start|>")
case " $plain " in *" 151644 "*) bad "control token parsed without --special: $plain" ;; esac
[ -n "$plain" ] || bad "no ids for <|im_start|> as plain text"

# -f reads bytes as they are (trailing newline included); '-' is stdin
printf 'Hello world\n' > "$tmp/in.txt"
expect "9707 1879 198" "$S" tokenize -m "$V/ggml-vocab-qwen2.gguf" -f "$tmp/in.txt"
got=$(printf 'Hello world' | "$S" tokenize -m "$V/ggml-vocab-qwen2.gguf" -f -)
[ "$got" = "9707 1879" ] || bad "stdin: got '$got'"

# the golden chat prompt, special tokens parsed, is the golden prompt
want=$(sed -n '1s/.*"tokens": \[\([0-9, ]*\)\].*/\1/p' "$T/golden/qwen2-chat-Q8_0.jsonl" | tr -d ,)
expect "$want" "$S" tokenize -m "$T/models/qwen2-chat-Q8_0.gguf" -f "$T/golden/qwen2-chat-prompt.txt" --special

"$S" tokenize --help > "$tmp/help" 2>&1 || bad "--help exit"
grep -q "usage: synapse tokenize" "$tmp/help" || bad "--help text"

fails() { # fails STATUS PATTERN CMD... : exit STATUS, one stderr line matching PATTERN, no stdout
    status=$1
    pattern=$2
    shift 2
    "$@" > "$tmp/out" 2> "$tmp/err"
    rc=$?
    [ $rc -eq "$status" ] || bad "$*: exit $rc, want $status"
    [ "$(wc -l < "$tmp/err")" -eq 1 ] || bad "$*: stderr is not one line: $(cat "$tmp/err")"
    grep -q "^synapse: tokenize: .*$pattern" "$tmp/err" || bad "$*: stderr '$(cat "$tmp/err")' lacks '$pattern'"
    [ -s "$tmp/out" ] && bad "$*: printed to stdout"
    return 0
}

echo "not a gguf" > "$tmp/bad.gguf"
fails 1 "No such file" "$S" tokenize -m "$tmp/missing.gguf" -p x
fails 1 "GGUF" "$S" tokenize -m "$tmp/bad.gguf" -p x
fails 1 "no tokenizer" "$S" tokenize -m "$T/models/lora-a.gguf" -p x
fails 1 "missing.txt" "$S" tokenize -m "$V/ggml-vocab-qwen2.gguf" -f "$tmp/missing.txt"
fails 2 "-p TEXT or -f FILE" "$S" tokenize -m "$V/ggml-vocab-qwen2.gguf"
fails 2 "-p TEXT or -f FILE" "$S" tokenize -m "$V/ggml-vocab-qwen2.gguf" -p x -f "$tmp/in.txt"
fails 2 "no model" "$S" tokenize -p x
fails 2 "unknown option '--bogus'" "$S" tokenize -m "$V/ggml-vocab-qwen2.gguf" -p x --bogus
fails 2 "needs a value" "$S" tokenize -m "$V/ggml-vocab-qwen2.gguf" -p

exit $fail
