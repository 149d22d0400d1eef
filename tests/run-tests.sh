#!/bin/bash
# The whole drbdmig test suite, from a clean checkout on Debian 12, as root:
# installs dependencies, builds with -Werror, runs the unit tests (CUnit,
# schema, fuzz smoke), the unit tests again under ASan/UBSan and valgrind,
# cppcheck, shellcheck, `make distcheck`, the Debian package (build, lintian, file list),
# the two-libvirt-hosts integration test and the kernel lab.  Ends with one
# line "N passed, N failed" (one per stage).
#
#   tests/run-tests.sh            everything
#   STAGES="build unit" tests/run-tests.sh   a subset
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${DRBDMIG_BUILD:-$top/_build}
STAGES=${STAGES:-deps build unit asan valgrind static distcheck deb twohost lab}
export FUZZ_SECONDS=${FUZZ_SECONDS:-20}
pass=0 fail=0 skip=0
results=()

selected() { case " $STAGES " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
record() {   # record <name> <rc> <seconds>
	if [ "$2" -eq 0 ]; then pass=$((pass + 1)); results+=("PASS  $1 ($3 s)")
	elif [ "$2" -eq 77 ]; then skip=$((skip + 1)); results+=("SKIP  $1")
	else fail=$((fail + 1)); results+=("FAIL  $1 (exit $2, $3 s)"); fi
}
stage() {   # stage <name> <command...>; 77 = skipped
	local name=$1 t0=$SECONDS rc
	shift
	selected "$name" || return 0
	echo
	echo "=== stage $name: $*"
	"$@"
	rc=$?
	record "$name" $rc $((SECONDS - t0))
}
# stage_beside <name> <function> <name> <function>: the first stage in the background,
# the second in the foreground, for pairs that each keep one core of two busy and share
# no build directory. The first one's output follows the second's. The foreground
# function may set variables for later stages; the background one may not.
stage_beside() {
	local bn=$1 bf=$2 fn=$3 ff=$4 o t0=$SECONDS brc bt bpid
	if ! selected "$bn" || ! selected "$fn"; then
		stage "$bn" "$bf"
		stage "$fn" "$ff"
		return 0
	fi
	o=$(mktemp -d) || return 1
	( "$bf" >"$o/out" 2>&1; echo $? >"$o/rc"; echo $((SECONDS - t0)) >"$o/t" ) &
	bpid=$!   # now: a process substitution in the foreground stage sets $! again
	stage "$fn" "$ff"
	wait "$bpid"
	echo
	echo "=== stage $bn: $bf (ran beside stage $fn)"
	cat "$o/out"
	read -r brc <"$o/rc" || brc=1
	read -r bt <"$o/t" || bt=$((SECONDS - t0))
	record "$bn" "$brc" "$bt"
	rm -rf "$o"
}

configure_in() {   # configure_in <dir> <extra configure args...>
	local dir=$1
	shift
	mkdir -p "$dir" && cd "$dir" || return 1
	[ -f Makefile ] || "$top/configure" --prefix=/usr --sysconfdir=/etc --localstatedir=/var \
		--runstatedir=/run "$@" > configure.out || { cat configure.out; return 1; }
}

do_build() {
	(cd "$top" && ./autogen.sh > /dev/null) || return 1
	configure_in "$build/ci" --enable-werror && make -j"$(nproc)"
}

do_unit() {
	cd "$build/ci" && make -j"$(nproc)" check
	local rc=$?
	for log in tests/schema-check.sh.log tests/fuzz/smoke.sh.log tests/unit/unit.log; do
		echo "--- $log"; tail -n 12 "$log"
	done
	return $rc
}

do_asan() {
	configure_in "$build/asan" --enable-werror --enable-sanitizers || return 1
	make -j"$(nproc)" > /dev/null && make check TESTS=tests/unit/unit > /dev/null
	local rc=$?
	tail -n 8 tests/unit/unit.log
	return $rc
}

do_valgrind() {
	cd "$build/ci" || return 1
	HOOK_BIN=$PWD/hooks/drbdmig-hook DAEMON_BIN=$PWD/plugin/drbdmigd \
	TEST_DATA=$top/tests/data XML_DIR=$top/xml \
	valgrind -q --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,indirect \
		tests/unit/unit > valgrind.out 2>&1
	local rc=$?
	grep -E '==[0-9]+==' valgrind.out | head -n 40
	tail -n 8 valgrind.out
	# The daemon's session table under helgrind: its threads race the
	# settle thread's reaping (tests/unit/test_registry.c).
	HOOK_BIN=$PWD/hooks/drbdmig-hook DAEMON_BIN=$PWD/plugin/drbdmigd \
	TEST_DATA=$top/tests/data XML_DIR=$top/xml UNIT_SUITE=registry \
	valgrind -q --tool=helgrind --suppressions="$top/tests/unit/helgrind.supp" --error-exitcode=1 \
		tests/unit/unit > helgrind.out 2>&1 || rc=1
	grep -E '==[0-9]+==' helgrind.out | head -n 40
	echo "--- helgrind, suite registry:"; tail -n 6 helgrind.out
	return $rc
}

do_static() {
	local rc=0
	echo "--- layers"
	"$top/tests/check-layers.sh" "$top" || rc=1
	echo "--- cppcheck"
	cppcheck --error-exitcode=1 --enable=warning,performance,portability --std=c11 \
		--inline-suppr --quiet -I "$top/plugin" "$top/plugin" "$top/hooks" "$top/bench" \
		"$top/tests/guest" || rc=1
	# ShellCheck (settings in .shellcheckrc) over every shell script of
	# tests/ and bench/: the *.sh files and the extension-less scripts with
	# an sh/bash #! line (the lab hosts' init scripts).
	echo "--- shellcheck"
	local -a sh_files
	mapfile -t sh_files < <(cd "$top" && find tests bench -type f -print | LC_ALL=C sort |
		while read -r f; do
			case ${f##*/} in
			*.sh) echo "$f" ;;
			*.*) ;;
			*) head -n 1 "$f" | grep -qE '^#! ?/bin/(ba)?sh' && echo "$f" ;;
			esac
		done)
	if [ ${#sh_files[@]} -eq 0 ]; then
		echo "no shell scripts found under $top/tests and $top/bench"
		rc=1
	else
		echo "${#sh_files[@]} scripts"
		(cd "$top" && shellcheck "${sh_files[@]}") || rc=1
	fi
	# clang-tidy (checks in .clang-tidy) over the product code, with the
	# compile commands of a dedicated build.
	echo "--- clang-tidy"
	configure_in "$build/tidy" || return 1
	make clean > /dev/null && bear -- make -j"$(nproc)" > /dev/null || return 1
	local out
	out=$(clang-tidy -p . --quiet "$top"/plugin/*/*.c "$top"/hooks/*.c "$top"/bench/*.c 2>&1 |
		grep -E 'warning:|error:')
	if [ -n "$out" ]; then
		echo "$out"
		rc=1
	fi
	return $rc
}

do_distcheck() {
	cd "$build/ci" && FUZZ_SECONDS=3 make distcheck > distcheck.out 2>&1
	local rc=$?
	tail -n 6 distcheck.out
	return $rc
}

# The Debian package of HEAD (tests/deb/build-deb.sh: a clean clone, its unit
# and schema tests, lintian), its file list checked in a throwaway root
# (tests/deb/check-deb.sh).  DEB_FILE is what the lab stage installs.
DEB_FILE=
do_deb() {
	local out=$build/deb deb
	deb=$("$top/tests/deb/build-deb.sh" "$out") || return $?
	"$top/tests/deb/check-deb.sh" "$deb" || return 1
	DEB_FILE=$deb
}

do_twohost() {   # both twohost tests; 77 only if both skip
	local rc rc1 rc2
	make -C "$build/ci" tests/twohost/virtwatch > /dev/null || return 1
	DRBDMIG_BUILDDIR=$build/ci "$top/tests/twohost/test-hook-migration.sh"
	rc1=$?
	DRBDMIG_BUILDDIR=$build/ci "$top/tests/twohost/test-virt-events.sh"
	rc2=$?
	if [ $rc1 -eq 77 ] && [ $rc2 -eq 77 ]; then return 77; fi
	for rc in $rc1 $rc2; do
		[ "$rc" -eq 0 ] || [ "$rc" -eq 77 ] || return "$rc"
	done
}

# The lab also installs the .deb on both hosts (LAB_DEB; test deb-install):
# the deb stage's, or one built here when that stage did not run.
# To stay well within CI's time the suite runs the lab's tests but
# smoke-recipe (the manual reference recipe) and the quick part of the fault
# matrix (tests/lab/tests/migrate-faults.sh);
# LAB_FULL=1 runs everything (about 75 minutes more), LAB_TESTS, FAULT_CASES
# and MULTI_ROUNDS select.
LAB_CI_TESTS="boot deb-install nested-guest storage-overlay migrate-e2e migrate-multi
migrate-refuse migrate-rogue migrate-linkcut migrate-faults"
do_lab() {
	local deb=$DEB_FILE tests faults rounds
	if [ -n "$LAB_IMAGE_PID" ]; then
		wait "$LAB_IMAGE_PID" || { echo "--- the background image build failed (lab.sh check tries again):"; tail -n 20 "$LAB_IMAGE_LOG"; }
		LAB_IMAGE_PID=
	fi
	if [ -z "$deb" ]; then
		deb=$("$top/tests/deb/build-deb.sh" "$build/deb") || return $?
	fi
	if [ -n "${LAB_FULL:-}" ]; then
		tests=${LAB_TESTS:-} faults=${FAULT_CASES:-all} rounds=${MULTI_ROUNDS:-2}
	else
		tests=${LAB_TESTS:-${LAB_CI_TESTS//$'\n'/ }} faults=${FAULT_CASES:-quick} rounds=${MULTI_ROUNDS:-2}
	fi
	LAB_DEB=$deb LAB_TESTS=$tests FAULT_CASES=$faults MULTI_ROUNDS=$rounds \
		LAB_TEST_TIMEOUT=${LAB_TEST_TIMEOUT:-3600} DRBDMIG_BUILDDIR=$build/ci "$top/tests/lab/lab.sh" check
}

# The lab's image (tests/lab/image/build.sh: debootstrap and packages, about two
# minutes where /var/cache/drbdmig-lab has none, as on a fresh CI machine) is built in
# the background from here on, beside the stages that compile and test, which leave
# the network and much of the disk idle; the lab stage waits for it.
LAB_IMAGE_PID=
LAB_IMAGE_LOG=$build/lab-image.log
start_lab_image() {
	selected lab || return 0
	mkdir -p "$build" || return 0
	"$top/tests/lab/lab.sh" image >"$LAB_IMAGE_LOG" 2>&1 &
	LAB_IMAGE_PID=$!
	echo "(the lab's image: built or found in the background, log $LAB_IMAGE_LOG)"
}
trap '[ -z "$LAB_IMAGE_PID" ] || kill "$LAB_IMAGE_PID" 2>/dev/null' EXIT

stage deps "$top/tests/setup-deps.sh"
start_lab_image
stage build do_build
# unit's fuzz smoke keeps one core busy for two minutes; asan's build and run fit beside it
stage_beside unit do_unit asan do_asan
stage_beside valgrind do_valgrind static do_static
stage_beside distcheck do_distcheck deb do_deb
stage twohost do_twohost
stage lab do_lab

echo
echo "=== summary"
printf '%s\n' "${results[@]}"
echo "$pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ]
