#!/bin/sh
# cli.sh: the command line is made from one table: every option of
# rehearse(1)'s SYNOPSIS is in --help and in the bash completion, every
# `rehearse CMD --help` works, the completion completes, and `make install`
# installs it.  Speaks TAP.  Needs $REHEARSE, $top_srcdir, $top_builddir.
set -u
: "${REHEARSE:=./rehearse}" "${top_srcdir:=.}" "${top_builddir:=.}"
tmp=$(mktemp -d)
. "$top_srcdir/tests/lib.sh"

# has WORD FILE: WORD (an option) is in FILE as a word of its own.
has() { grep -q -E -- "(^|[^a-zA-Z-])$1([^a-zA-Z-]|\$)" "$2"; }

# complete WORD...: what the completion offers for the words, the last one
# being completed.
# complete WORDS...: what the completion offers for the last word, in an
# empty folder (the first word also completes file names: a runbook).
complete() {
	mkdir -p "$tmp/empty"
	(cd "$tmp/empty" && bash -c '. "$1"; shift; COMP_WORDS=("$@");
	    COMP_CWORD=$(($# - 1)); _rehearse; printf "%s\n" "${COMPREPLY[@]}"' \
	    _ "$tmp/completion" "$@")
}

"$REHEARSE" --help >"$tmp/help" 2>&1
"$REHEARSE" --completion bash >"$tmp/completion" 2>&1
sed -n '/^\.SH SYNOPSIS/,/^\.SH DESCRIPTION/p' "$top_srcdir/man/rehearse.1" |
    sed 's/\\-/-/g' | grep -o -E -- '--?[a-zA-Z][a-zA-Z-]*' | sort -u >"$tmp/synopsis"
[ "$(wc -l <"$tmp/synopsis")" -gt 20 ]
cp "$tmp/synopsis" "$tmp/out"
ok $? "rehearse(1)'s SYNOPSIS names the options ($(wc -l <"$tmp/synopsis"))"

missing=
while read -r opt; do has "$opt" "$tmp/help" || missing="$missing $opt"; done <"$tmp/synopsis"
echo "not in --help:$missing" >"$tmp/out"
[ -z "$missing" ]
ok $? "every option of the SYNOPSIS is in rehearse --help"

missing=
while read -r opt; do has "$opt" "$tmp/completion" || missing="$missing $opt"; done <"$tmp/synopsis"
echo "not in the completion:$missing" >"$tmp/out"
[ -z "$missing" ]
ok $? "every option of the SYNOPSIS is in the bash completion"

cp "$tmp/help" "$tmp/out"
grep -q '^  rehearse \[run\] .*RUNBOOK$' "$tmp/help" && ! grep -q 'comes later' "$tmp/help" &&
    ! grep -q 'not available' "$tmp/help"
ok $? "--help shows rehearse [run] RUNBOOK and nothing that is not there"

for cmd in run check lint restore replay verify report; do
	"$REHEARSE" "$cmd" --help >"$tmp/out" 2>&1
	st=$?
	# Every option the command's help lists is in its usage lines.
	bad=
	for opt in $(sed -n '/^options:/,$p' "$tmp/out" | grep -o -E -- '--[a-z][a-z-]*' | grep -v -- '--help'); do
		sed -n '1,/^$/p' "$tmp/out" >"$tmp/usage"
		has "$opt" "$tmp/usage" || [ "$opt" = --audit-key ] || bad="$bad $opt"
	done
	[ $st = 0 ] && head -1 "$tmp/out" | grep -q "^usage: rehearse \(\[\)\?$cmd" && [ -z "$bad" ]
	ok $? "rehearse $cmd --help: its usage, and every option it lists is in it${bad:+ (not:$bad)}"
done

"$REHEARSE" --read-only "$top_srcdir/runbooks/minimal.yml" </dev/null >"$tmp/out" 2>&1
[ $? = 2 ] && grep -q "the dashboard needs a terminal" "$tmp/out"
ok $? "rehearse --read-only RUNBOOK is the dashboard (here: no terminal), not a usage error"

"$REHEARSE" --completion zsh >"$tmp/out" 2>&1
[ $? = 2 ] && grep -q "only bash" "$tmp/out"
ok $? "--completion: another shell is a usage error"

complete rehearse ch >"$tmp/out"
[ "$(cat "$tmp/out")" = check ]
ok $? "completion: rehearse ch<TAB> is check"

complete rehearse check --fo >"$tmp/out"
[ "$(cat "$tmp/out")" = --format ]
ok $? "completion: a command's options"

complete rehearse check --format "" | tr '\n' ' ' >"$tmp/out"
[ "$(cat "$tmp/out")" = "text tap json " ]
ok $? "completion: the values of --format"

complete rehearse --read-only --audit- >"$tmp/out"
[ "$(cat "$tmp/out")" = --audit-key ]
ok $? "completion: rehearse [OPTIONS] RUNBOOK completes run's options"

complete rehearse lint -- >"$tmp/out"
grep -q -x -- --summary "$tmp/out" && grep -q -x -- --quiet "$tmp/out" && ! grep -q -x -- --batch "$tmp/out"
ok $? "completion: lint offers its own options only"

mkdir "$tmp/rb" && : >"$tmp/rb/blog.yml"
complete rehearse lint "$tmp/rb/bl" >"$tmp/out"
[ "$(cat "$tmp/out")" = "$tmp/rb/blog.yml" ]
ok $? "completion: operands are files"

# make install puts the completion where bash-completion looks for it.
dest=$tmp/dest
env -u MAKEFLAGS -u MFLAGS make -s -C "$top_builddir" install DESTDIR="$dest" prefix=/usr >"$tmp/out" 2>&1 &&
    cmp "$dest/usr/share/bash-completion/completions/rehearse" "$tmp/completion" >>"$tmp/out" 2>&1
ok $? "make install installs the completion as share/bash-completion/completions/rehearse"

echo "1..$n"
