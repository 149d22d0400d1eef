#!/bin/sh
# drbdmig's command line without a daemon: every command's misuse is one
# line and exit status 2 (a usage error, drbdmig(1)), and each command that
# needs drbdmigd fails with its documented status when none answers
# (verify: 2, it could not look; the others: 1).
set -u
: "${top_builddir:=$(cd "$(dirname "$0")/.." && pwd)}"
cli="$top_builddir/plugin/drbdmig"
[ -x "$cli" ] || { echo "FAIL: $cli not built"; exit 1; }
dir=$(mktemp -d) || exit 1
trap 'rm -rf "$dir"' EXIT
sock="$dir/none.sock"
pass=0 fail=0
check() {   # check <status> <stderr's first line, a grep -F pattern or ""> <args...>
	want=$1 line=$2
	shift 2
	"$cli" -s "$sock" "$@" > "$dir/out" 2> "$dir/err"
	got=$?
	first=$(head -n 1 "$dir/err")
	if [ "$got" -ne "$want" ]; then
		fail=$((fail + 1)); echo "FAIL: drbdmig $*: exit $got, expected $want ($first)"
	elif [ -n "$line" ] && ! printf '%s\n' "$first" | grep -qF -- "$line"; then
		fail=$((fail + 1)); echo "FAIL: drbdmig $*: said '$first', expected '$line'"
	else
		pass=$((pass + 1))
	fi
}
domain="needs one domain (name, UUID or session id)"
check 2 "drbdmig: missing command"
check 2 "drbdmig: unknown command 'frob' (try drbdmig --help)" frob
check 2 "drbdmig: unknown command 'frob'" frob vm1
check 2 "drbdmig: unknown command 'Status'" Status
check 2 "drbdmig: status: unexpected argument 'x'" status x
check 2 "drbdmig: status: unexpected argument 'x'" status -w x
check 2 "drbdmig: verify: unexpected argument 'x'" verify x
check 2 "drbdmig: ping: unexpected argument 'x'" ping x
check 2 "drbdmig: version: unexpected argument 'x'" version x
check 2 "drbdmig: cleanup $domain or --orphans" cleanup
check 2 "drbdmig: cleanup $domain or --orphans" cleanup vm1 vm2
check 2 "drbdmig: cleanup $domain or --orphans" cleanup -f
check 2 "drbdmig: cleanup $domain or --orphans" cleanup ""
check 2 "drbdmig: cancel $domain" cancel
check 2 "drbdmig: cancel $domain" cancel --orphans
check 2 "drbdmig: cancel $domain" cancel vm1 vm2
check 2 "" -z
check 0 "" --help
for c in status verify cleanup cancel ping version; do
	grep -q "^  $c " "$dir/out" || { fail=$((fail + 1)); echo "FAIL: --help does not list $c"; }
done
check 0 "" version
grep -q '^drbdmig ' "$dir/out" || { fail=$((fail + 1)); echo "FAIL: version printed '$(cat "$dir/out")'"; }
# no daemon
check 1 "drbdmig: cannot reach drbdmigd" status
check 1 "drbdmig: cannot reach drbdmigd" status -w
check 1 "drbdmig: cannot reach drbdmigd" status --watch
check 2 "drbdmig: cannot reach drbdmigd" verify
check 1 "drbdmig: cannot reach drbdmigd" cleanup vm1
check 1 "drbdmig: cannot reach drbdmigd" cleanup --orphans
check 1 "drbdmig: cannot reach drbdmigd" cancel vm1
check 1 "drbdmig: cannot reach drbdmigd" ping
check 1 "drbdmig: cannot reach drbdmigd" -m status
echo "cli-args: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
