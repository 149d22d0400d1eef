# shellcheck shell=bash
# Helpers for kernel lab tests. A test (tests/lab/tests/NAME.sh) runs on the machine, not
# in the lab hosts, and drives the hosts through lab.sh; lab.sh test/check export LAB (the
# driver), LAB_RUN, LAB_SHARED (host side of /lab/shared), LAB_SRC and LAB_DIR.
set -euo pipefail
: "${LAB:?run lab tests with: tests/lab/lab.sh test NAME (or lab.sh check)}"
# The lab's addresses, names and port ranges (LAB_IP_A, LAB_VG, ...).
# shellcheck source=../../lib/consts.sh
. "$(dirname "${BASH_SOURCE[0]}")/../../lib/consts.sh"

T_NAME=$(basename "$0" .sh)
T_START=$SECONDS
# In-guest paths of the repository and of the tests' guest-side helpers.
# shellcheck disable=SC2034  # used by the tests that source this
G_SRC=/lab/src
# shellcheck disable=SC2034  # the same
G_LIB=$G_SRC/tests/lab/tests/lib

log()  { printf '[%s +%ds] %s\n' "$T_NAME" $((SECONDS - T_START)) "$*"; }
fail() { log "FAIL: $*"; exit 1; }

# on H CMD [ARG...]: run CMD on host H, logged; the test fails if CMD fails.
# Env ON_TIMEOUT sets the exec timeout (default 300 s).
on() {
	local h=$1 rc=0
	shift
	log "$h# $*"
	"$LAB" exec "$h" -t "${ON_TIMEOUT:-300}" -- "$@" || rc=$?
	[ "$rc" -eq 0 ] || fail "on host $h: '$*' exited $rc"
}
# sh_on H SCRIPT [ARG...]: like on, with a bash script string ($1.. = ARGs).
sh_on() {
	local h=$1 s=$2
	shift 2
	on "$h" bash -c "$s" bash "$@"
}
# val H CMD [ARG...]: CMD's stdout (not logged); the test fails if CMD fails.
val() {
	local h=$1 out rc=0
	shift
	out=$("$LAB" exec "$h" -t "${ON_TIMEOUT:-300}" -- "$@") || rc=$?
	[ "$rc" -eq 0 ] || fail "on host $h: '$*' exited $rc"
	printf '%s\n' "$out"
}
# probe H CMD [ARG...]: CMD's exit status as a condition (not logged, never fails the
# test), for polling loops: until probe B grep -q ready LOG; do ...
probe() {
	local h=$1
	shift
	"$LAB" exec "$h" -t "${ON_TIMEOUT:-60}" -- "$@" >/dev/null 2>&1
}
# try H CMD [ARG...]: best effort (cleanup paths): run, log failures, never fail.
try() {
	local h=$1
	shift
	"$LAB" exec "$h" -t "${ON_TIMEOUT:-120}" -- "$@" 2>&1 | sed "s/^/  [$h] /" || true
}
# both FN [ARG...]: FN A ARG... and FN B ARG... at the same time (each host is a VM of
# its own, and most of a check's time is the host's); the test fails if either fails.
# Their log lines may interleave.  both_run is the same but returns 1 instead of
# failing (for cleanups).
both_run() {
	local fn=$1 pid rc=0
	shift
	"$fn" A "$@" &
	pid=$!
	"$fn" B "$@" || rc=$?
	wait "$pid" || rc=$?
	return "$rc"
}
both() { both_run "$@" || fail "$1 failed on A or B (above)"; }
# val_both CMD_A CMD_B: sh -c CMD_A on A and sh -c CMD_B on B at the same time, as val;
# their outputs, each joined into one line, in VAL_A and VAL_B.
val_both() {
	local pid f
	f=$(mktemp)
	val A sh -c "$1" >"$f" &
	pid=$!
	# shellcheck disable=SC2034  # VAL_A and VAL_B are read by the tests
	VAL_B=$(val B sh -c "$2" | xargs)
	wait "$pid" || { rm -f "$f"; fail "cannot read A's state"; }
	# shellcheck disable=SC2034
	VAL_A=$(xargs <"$f")
	rm -f "$f"
}
not() { ! "$@"; }   # for check: check "no such line" not grep -q x f
check() {   # check DESCRIPTION COMMAND...: a named assertion
	local d=$1
	shift
	if "$@"; then log "ok: $d"; else fail "$d"; fi
}

# rec_lv H VG LV MB BOOTSECTOR [THINPOOL]: a fresh LV on host H holding the record
# guest's boot sector (the rest zeroed), for a nested guest; with THINPOOL a thin LV of
# that pool, which reads as zeros where nothing was written (only the boot sector is).
rec_lv() {
	if [ -n "${6:-}" ]; then
		on "$1" lvcreate -qy -V "${4}M" -T "$2/$6" -n "$3"
	else
		on "$1" lvcreate -qy -Wy -Zy -L "${4}M" -n "$3" "$2"
		on "$1" dd if=/dev/zero of="/dev/$2/$3" bs=1M count="$4" oflag=direct status=none
	fi
	on "$1" dd if="$5" of="/dev/$2/$3" bs=512 count=1 oflag=direct conv=notrunc status=none
}
# rec_xml NAME DISK CONSOLE [EXTRA]: the nested record guest's domain XML on stdout
# (32 MiB, IDE disk DISK raw with cache=none, serial console appended to the file
# CONSOLE); EXTRA goes right after <name> (e.g. <uuid> and <metadata>). DISK
# pool:POOL/VOLUME is a libvirt pool's volume (<disk type='volume'>), else a path.
rec_xml() {
	local type=block src="<source dev='$2'/>" v
	case $2 in
	pool:*/*) type=volume v=${2#pool:}; src="<source pool='${v%%/*}' volume='${v#*/}'/>" ;;
	esac
	cat <<EOF
<domain type='qemu'>
  <name>$1</name>${4:+
  $4}
  <memory unit='MiB'>32</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type><boot dev='hd'/></os>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <disk type='$type' device='disk'>
      <driver name='qemu' type='raw' cache='none'/>
      $src
      <target dev='hda' bus='ide'/>
    </disk>
    <serial type='file'>
      <source path='$3' append='on'/>
      <target port='0'/>
    </serial>
    <controller type='usb' model='none'/>
    <memballoon model='none'/>
  </devices>
</domain>
EOF
}
