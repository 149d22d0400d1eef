# shellcheck shell=bash
# Shared host-side helpers of the kernel lab (sourced by lab.sh and image/build.sh).
# Nothing here runs anything on its own.

# shellcheck disable=SC2034  # the variables here are used by the scripts that source this
LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LAB_SRC=$(cd "$LAB_DIR/../.." && pwd)          # the repository root
LAB_CACHE=${DRBDMIG_LAB_CACHE:-/var/cache/drbdmig-lab}
# shellcheck source=consts.sh
. "$LAB_DIR/lib/consts.sh"

# Exit codes shared by the lab's commands.
LAB_EX_SKIP=77          # this machine cannot run the lab
LAB_EX_LAB=125          # the lab itself failed (host not up, agent dead, ...)

lab_ts() { date +%H:%M:%S; }
say()  { printf '[lab %s] %s\n' "$(lab_ts)" "$*" >&2; }
die()  { printf 'lab: error: %s\n' "$*" >&2; exit 1; }
skip() { printf 'lab: SKIPPED: %s\n' "$*" >&2; exit "$LAB_EX_SKIP"; }

# Host packages the lab needs, as "command:package" pairs.
LAB_HOST_NEEDS=(
	qemu-system-x86_64:qemu-system-x86
	qemu-img:qemu-utils
	debootstrap:debootstrap
	mkfs.ext4:e2fsprogs
	cpio:cpio
	gzip:gzip
	dpkg-deb:dpkg
	flock:util-linux
	nasm:nasm
	sha256sum:coreutils
	ss:iproute2
)

# Print the packages whose command is missing (one per line).
lab_missing_pkgs() {
	local pair
	for pair in "${LAB_HOST_NEEDS[@]}"; do
		command -v "${pair%%:*}" >/dev/null 2>&1 || echo "${pair#*:}"
	done | sort -u
}

# apt-get with a bounded wait for another holder of the dpkg lock.
lab_apt() {
	local try
	for try in 1 2 3 4 5 6; do
		if DEBIAN_FRONTEND=noninteractive timeout 900 apt-get -q \
			-o DPkg::Lock::Timeout=120 "$@"; then
			return 0
		fi
		say "apt-get $* failed (try $try), retrying in 20 s"
		sleep 20
	done
	return 1
}

# apt-get update if the package lists are empty (fresh machines ship none).
lab_apt_lists() {
	compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null || lab_apt update
}

# Install missing host packages when we can (root + apt-get).
# Returns non-zero, with the reason on stdout, when something is still missing.
lab_ensure_host_pkgs() {
	local missing
	missing=$(lab_missing_pkgs)
	[ -z "$missing" ] && return 0
	if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1 &&
		[ -z "${LAB_NO_INSTALL:-}" ]; then
		say "installing host packages: $(echo "$missing" | tr '\n' ' ')"
		# shellcheck disable=SC2086  # word splitting of the package list is wanted
		if ! { lab_apt_lists >&2 && lab_apt install -y --no-install-recommends $missing >&2; }; then
			say "apt-get install failed"
		fi
	fi
	missing=$(lab_missing_pkgs)
	[ -z "$missing" ] && return 0
	echo "missing host packages: $(echo "$missing" | tr '\n' ' ')"
	return 1
}

# sha256 of files (in order) -> 16 hex digits.
lab_hash_files() { cat "$@" | sha256sum | cut -c1-16; }
