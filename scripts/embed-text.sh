#!/bin/sh
# Writes a C file defining `const char NAME[]` as the text of FILE, so a
# file of share/ (the default configuration) is built into the program and
# stays the one place its text lives. Usage: embed-text.sh NAME FILE > OUT.c
set -eu
name=$1
file=$2
printf '/* Generated from %s by scripts/embed-text.sh: edit that file, not this one. */\n' "$(basename "$file")"
printf 'extern const char %s[];\nconst char %s[] =\n' "$name" "$name"
# each line a string literal with its newline; \ and " escaped
sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/    "/' -e 's/$/\\n"/' "$file"
printf '    "";\n'
