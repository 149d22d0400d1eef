#!/bin/sh
# The RELAX NG schema must accept every example and every valid test policy,
# and reject every invalid one.  (The CUnit policy suite runs the C parser over
# the same files, so schema and parser cannot drift apart.)
set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
rng="$top_srcdir/xml/drbdmig-policy.rng"
data="$top_srcdir/tests/data/schema"
command -v xmllint >/dev/null || { echo "SKIP: xmllint not installed (libxml2-utils)"; exit 77; }
pass=0 fail=0
check() {   # check <file> <expect: valid|invalid>
	if xmllint --noout --relaxng "$rng" "$1" >/dev/null 2>&1; then got=valid; else got=invalid; fi
	if [ "$got" = "$2" ]; then pass=$((pass + 1)); else
		fail=$((fail + 1)); echo "FAIL: $1: schema says $got, expected $2"; fi
}
for f in "$data"/valid/*.xml; do check "$f" valid; done
for f in "$data"/invalid/*.xml; do check "$f" invalid; done
# Examples: validate the annotation inside each domain (or the bare policy).
tmp=$(mktemp) || exit 1
trap 'rm -f "$tmp"' EXIT
for f in "$top_srcdir"/xml/examples/*.xml; do
	xmllint --xpath '//*[local-name()="policy" and namespace-uri()="urn:drbdmig:1"]' "$f" > "$tmp" 2>/dev/null
	check "$tmp" valid
done
echo "schema-check: $pass passed, $fail failed"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
