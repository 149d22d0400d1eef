#!/bin/bash
# Short fuzzing run of each target (FUZZ_SECONDS each, default 20), seeded
# with the test data and examples.  `make fuzz` runs longer (FUZZ_SECONDS=300).
# Reports libFuzzer's execution counts; any crash, leak or UBSan report fails.
set -u
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
secs=${FUZZ_SECONDS:-20}
out=${FUZZ_OUT:-${top_builddir:-$PWD}/fuzz-out}
"$here/build.sh" "$out" >/dev/null || { rc=$?; [ $rc -eq 77 ] && echo "SKIP: no clang/libFuzzer"; exit $rc; }
pass=0 fail=0
seed() {   # seed <target> <corpus dir>
	mkdir -p "$2"
	case $1 in
	fuzz_policy)
		cp "$src"/xml/examples/*.xml "$2"/ 2>/dev/null
		cp "$src"/tests/data/libvirt-status-*.xml "$2"/ 2>/dev/null
		i=0
		for f in "$src"/tests/data/schema/*/*.xml; do
			i=$((i + 1))
			{ echo "<domain><name>f</name><metadata>"; cat "$f"; echo "</metadata><devices>"
			  echo "<disk type='block' device='disk'><source dev='/dev/vg/a'/><target dev='vda'/></disk>"
			  echo "<disk type='block'><source dev='/dev/vg/b'/><target dev='vdb'/></disk>"
			  echo "<disk type='volume' device='disk'><source pool='lvpool' volume='c'/><target dev='vdc'/></disk>"
			  echo "</devices></domain>"; } > "$2/seed-$i.xml"
		done
		echo "<pool type='logical'><name>p</name><source><name>vg0</name></source><target><path>/dev/vg0</path></target></pool>" \
			> "$2/pool-logical.xml"
		echo "<domain><name>f</name><metadata><drbdmig:policy xmlns:drbdmig='urn:drbdmig:1'><drbdmig:disk target='vdc'/></drbdmig:policy></metadata><devices><disk type='volume' device='disk'><source pool='lvpool' volume='c'/><target dev='vdc'/></disk></devices></domain>" \
			> "$2/volume.xml" ;;
	fuzz_proto)
		# ping, error "abc", hook reply with status + stdout
		printf 'DMG1\000\001\000\003\000\000\000\000' > "$2/ping"
		printf 'DMG1\000\001\000\005\000\000\000\011\000\010\000\000\000\003abc' > "$2/error"
		printf 'DMG1\000\001\000\002\000\000\000\023\000\006\000\000\000\004\000\000\000\001\000\007\000\000\000\003<a>' > "$2/reply" ;;
	fuzz_storage)
		printf '\0010 409600 linear 9:126 8300544\n' > "$2/table"
		printf '\0021 a8d5f3c1 swap-source lv=vg0-x table=0%%20409600%%20linear' > "$2/journal"
		printf '\0010 8 linear 7:0 0\n8 8 striped 2 128 8:16 0 8:32 0\n' > "$2/table2"
		printf '\0010 131072 thin 253:2 1\n' > "$2/table-thin"
		printf '\003  vg0|t1|67108864|4194304|2092957696||thin|tpool|0.29\n' > "$2/lvs-thin"
		printf '\003  vg0|web1.drbdmeta|4194304|4194304|0|backup,drbdmig|linear||\n' > "$2/lvs"
		for f in "$src"/tests/data/drbd/*.bin; do [ -f "$f" ] && { printf '\000'; cat "$f"; } > "$2/$(basename "$f")"; done ;;
	fuzz_peer)
		# expected seq byte, then a CALL: seq 1, "ping\n"; seq 2 with a value
		printf '\001DMG1\000\001\000\006\000\000\000\025\000\012\000\000\000\004\000\000\000\001\000\013\000\000\000\005ping\n' > "$2/call"
		printf '\002DMG1\000\001\000\006\000\000\000\044\000\012\000\000\000\004\000\000\000\002\000\013\000\000\000\024set-rate rate=4%%20M\n' > "$2/call2"
		printf '\001DMG1\000\001\000\007\000\000\000\022\000\012\000\000\000\004\000\000\000\001\000\006\000\000\000\004\000\000\000\000' > "$2/result" ;;
	fuzz_verbs)
		# caller byte, then request lines: a whole build from the right
		# peer; the same with the other peer's calls mixed in
		{ printf '\000'
		  printf 'open sid=0123abcd tok=00112233445566778899aabbccddeeff uuid=6c2a0c3e-0000-4000-8000-000000000001 secret=00112233445566778899aabbccddeeff ndisks=2\n'
		  printf 'disk sid=0123abcd tok=00112233445566778899aabbccddeeff i=0 target=vda path=/dev/vg0/root dhost=d daddr=10.0.0.2 dminor=1 dport=7800\n'
		  printf 'connect sid=0123abcd tok=00112233445566778899aabbccddeeff\n'
		  printf 'rollback sid=0123abcd tok=00112233445566778899aabbccddeeff reason=x\n'; } > "$2/build"
		{ printf '\252'
		  printf 'open sid=0123abcd tok=00112233445566778899aabbccddeeff uuid=6c2a0c3e-0000-4000-8000-000000000001 secret=00112233445566778899aabbccddeeff ndisks=1\n'
		  printf 'disk sid=0123abcd tok=00112233445566778899aabbccddeeff i=0 target=vdb dhost=d daddr=10.0.0.2 dminor=1 dport=1\n'
		  printf 'finish sid=0123abcd tok=00112233445566778899aabbccddeeff\n'
		  printf 'state sid=0123abcd tok=00112233445566778899aabbccddeeff\n'; } > "$2/mixed"
		# the other verbs of both channels, for dmg_verb_check
		{ printf '\000'
		  printf 'probe uuid=6c2a0c3e-0000-4000-8000-000000000001 target=vda path=/dev/vg0/a\n'
		  printf 'whohas uuid=6c2a0c3e-0000-4000-8000-000000000001\n'
		  printf 'fence sid=0123abcd tok=00112233445566778899aabbccddeeff\n'
		  printf 'fence target=drbdmig-0123abcd-0\n'
		  printf 'cleanup target=--orphans\n'
		  printf 'status\n'; } > "$2/others" ;;
	fuzz_endpoint)
		printf '10.0.0.1:7780' > "$2/v4"
		printf '[fd00::1]:7790' > "$2/v6"
		printf 'fd00::1' > "$2/bare6"
		printf 'host-a.example.org' > "$2/name" ;;
	esac
}
TARGETS="fuzz_policy fuzz_proto fuzz_storage fuzz_peer fuzz_verbs fuzz_endpoint"
# One target per core at a time (each is single-threaded); the lines come out in the
# order of TARGETS whatever order the runs end in.
par=${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 1)}
run() {   # run <target>: writes $out/<target>.result, one line
	local t="$1" log="$out/$1.log" execs
	if "$out/$t" -max_total_time="$secs" -max_len=65536 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$out/" "$out/corpus-$t" > "$log" 2>&1; then
		execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
		echo "fuzz: $t: ${execs:-?} executions in ${secs}s, no crash" > "$out/$t.result"
	else
		echo "fuzz: $t: FAILED (see $log)" > "$out/$t.result"
	fi
}
for t in $TARGETS; do
	seed "$t" "$out/corpus-$t"
	rm -f "$out/$t.result"
	while [ "$(jobs -rp | wc -l)" -ge "$par" ]; do wait -n; done
	run "$t" &
done
wait
for t in $TARGETS; do
	if grep -q 'no crash$' "$out/$t.result" 2>/dev/null; then
		cat "$out/$t.result"
		pass=$((pass + 1))
	else
		echo "fuzz: $t: FAILED (see $out/$t.log)"; tail -n 30 "$out/$t.log"
		fail=$((fail + 1))
	fi
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
