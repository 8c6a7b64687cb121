#!/bin/sh
# The man page share/man/synapse.1: groff renders it without a single
# warning, and it keeps up with the program: every command that
# `synapse --help' lists has a `.SS COMMAND' section, and every option that
# `synapse COMMAND --help' prints (each --long one, and each -x short one)
# appears in that command's section. The help texts are parsed, not copied
# here, so a new command or flag left undocumented fails this test.
# Run by make check with top_srcdir and top_builddir set; exit 0 pass,
# 1 fail, 77 skip (no groff).
src=${top_srcdir:-.}
build=${top_builddir:-.}
page="$src/share/man/synapse.1"
synapse="$build/synapse"

if ! command -v groff >/dev/null 2>&1; then
    echo "SKIP: groff is not installed"
    exit 77
fi
if [ ! -f "$page" ]; then
    echo "FAIL: no man page at $page" >&2
    exit 1
fi
if [ ! -x "$synapse" ]; then
    echo "FAIL: no synapse program at $synapse" >&2
    exit 1
fi

tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
fail=0

# 1. Rendering: -ww turns every warning on; any output on stderr fails.
LC_ALL=C groff -man -Tutf8 -ww -z "$page" >"$tmp/groff.out" 2>"$tmp/groff.err"
rc=$?
if [ $rc -ne 0 ] || [ -s "$tmp/groff.err" ]; then
    echo "FAIL: groff -man -Tutf8 -ww warns about $page (exit status $rc):" >&2
    cat "$tmp/groff.err" >&2
    fail=1
else
    echo "ok: $page renders without warnings"
fi

# The page's text without roff escapes that would hide an option's name:
# \- becomes -, font changes, \& and \c go.
sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' -e 's/\\f(..//g' -e 's/\\f\[[^]]*\]//g' \
    -e 's/\\&//g' -e 's/\\c//g' "$page" >"$tmp/page"

# The lines of `.SS NAME' up to the next .SS or .SH.
section() {
    awk -v name="$1" '
        /^\.S[SH]([ \t]|$)/ {
            if (inside) exit
            line = $0
            sub(/^\.SS[ \t]+/, "", line)
            gsub(/"/, "", line)
            split(line, w, /[ \t]+/)
            if ($0 ~ /^\.SS/ && w[1] == name) inside = 1
            next
        }
        inside { print }
    ' "$tmp/page"
}

# Each option a help text names: --long ones anywhere, -x short ones where
# they stand alone (after a space, "(", "[" or "|"; before a space, ",",
# ")", "]" or "|"), so "-2..2" or "non-negative" are not taken for options.
options() {
    awk '
        {
            line = $0
            while (match(line, /--[A-Za-z0-9][-A-Za-z0-9]*/)) {
                print substr(line, RSTART, RLENGTH)
                line = substr(line, RSTART + RLENGTH)
            }
            line = " " $0 " "
            while (match(line, /[ \t(\[|]-[A-Za-z][ \t,)\]|]/)) {
                print substr(line, RSTART + 1, 2)
                line = substr(line, RSTART + 3)
            }
        }
    ' | sort -u
}

# 2. Commands: the indented lines after "commands:" in `synapse --help'.
if ! "$synapse" --help >"$tmp/help" 2>"$tmp/help.err"; then
    echo "FAIL: $synapse --help failed:" >&2
    cat "$tmp/help.err" >&2
    exit 1
fi
sed -n '/^commands:/,/^$/p' "$tmp/help" | awk 'NR > 1 && /^[ \t]+[a-z]/ { print $1 }' >"$tmp/commands"
if [ ! -s "$tmp/commands" ]; then
    echo "FAIL: found no commands in the output of synapse --help:" >&2
    cat "$tmp/help" >&2
    exit 1
fi

n_cmds=0
n_opts=0
for cmd in $(cat "$tmp/commands"); do
    case $cmd in
    *[!a-z0-9-]*)
        echo "FAIL: cannot check the odd command name '$cmd'" >&2
        fail=1
        continue
        ;;
    esac
    n_cmds=$((n_cmds + 1))
    section "$cmd" >"$tmp/sec"
    if ! grep -Eq "^\.SS[ \t]+\"?$cmd\"?([ \t]|\$)" "$tmp/page"; then
        echo "FAIL: command '$cmd' (in synapse --help) has no '.SS $cmd' section in the page" >&2
        fail=1
    fi
    if ! "$synapse" "$cmd" --help >"$tmp/cmdhelp" 2>"$tmp/cmdhelp.err"; then
        echo "FAIL: synapse $cmd --help failed:" >&2
        cat "$tmp/cmdhelp.err" >&2
        fail=1
        continue
    fi
    missing=""
    for opt in $(options <"$tmp/cmdhelp"); do
        n_opts=$((n_opts + 1))
        if ! grep -Eq -e "(^|[^-A-Za-z0-9])$opt([^-A-Za-z0-9]|\$)" "$tmp/sec"; then
            missing="$missing $opt"
        fi
    done
    if [ -n "$missing" ]; then
        echo "FAIL: synapse $cmd --help prints options that its '.SS $cmd' section does not document:$missing" >&2
        fail=1
    fi
done

if [ $fail -eq 0 ]; then
    echo "ok: $n_cmds commands, each with its section; $n_opts options of their --help, each documented there"
fi
exit $fail
