#!/bin/sh
# Builds the libFuzzer targets with clang into OUTDIR (default ./fuzz-out).
# Needs clang and libclang-rt-14-dev (Debian); a configured build tree's
# config.h is found through $top_builddir (or generated minimally here).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
out=${1:-$PWD/fuzz-out}
CLANG=${CLANG:-clang}
command -v "$CLANG" >/dev/null || { echo "fuzz: $CLANG not found (apt-get install clang libclang-rt-14-dev)" >&2; exit 77; }
mkdir -p "$out"
if [ -n "${top_builddir:-}" ] && [ -f "$top_builddir/config.h" ]; then
	inc="-I$top_builddir"
else
	printf '#define PACKAGE_VERSION "fuzz"\n#define _GNU_SOURCE 1\n' > "$out/config.h"
	inc="-I$out"
fi
flags="-std=c11 -g -O1 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined $inc -I$src/plugin"
xml_cflags=$(pkg-config --cflags libxml-2.0)
xml_libs=$(pkg-config --libs libxml-2.0)
# shellcheck disable=SC2086  # $CLANG, $flags, $xml_*: option lists, split into words on purpose
$CLANG $flags $xml_cflags -o "$out/fuzz_policy" "$here/fuzz_policy.c" \
	"$src/plugin/libvirt/policy.c" "$src/plugin/libvirt/diskpath.c" "$src/plugin/libvirt/xmlutil.c" \
	"$src/plugin/libvirt/jobflags.c" "$src/plugin/libvirt/poolxml.c" "$src/plugin/core/policy_types.c" \
	"$src/plugin/core/error.c" $xml_libs
# shellcheck disable=SC2086  # the same option lists
$CLANG $flags -o "$out/fuzz_proto" "$here/fuzz_proto.c" "$src/plugin/core/proto.c" "$src/plugin/core/error.c"
# shellcheck disable=SC2086  # the same
$CLANG $flags -o "$out/fuzz_storage" "$here/fuzz_storage.c" "$src/plugin/storage/drbd_msg.c" \
	"$src/plugin/storage/dm_table.c" "$src/plugin/storage/lvm.c" "$src/plugin/storage/exec.c" "$src/plugin/core/clock.c" \
	"$src/plugin/core/journal.c" "$src/plugin/core/error.c"
# shellcheck disable=SC2086  # the same
$CLANG $flags -o "$out/fuzz_peer" "$here/fuzz_peer.c" "$src/plugin/peer/peer_msg.c" \
	"$src/plugin/core/proto.c" "$src/plugin/core/journal.c" "$src/plugin/core/error.c"
# shellcheck disable=SC2086  # the same
$CLANG $flags -o "$out/fuzz_verbs" "$here/fuzz_verbs.c" "$src/plugin/engine/session.c" "$src/plugin/engine/steps.c" \
	"$src/plugin/engine/run.c" "$src/plugin/engine/dst.c" "$src/plugin/engine/src.c" \
	"$src/plugin/core/steprow.c" "$src/plugin/core/modelnames.c" "$src/plugin/core/policy_types.c" "$src/plugin/core/journal.c" \
	"$src/plugin/core/jkind.c" "$src/plugin/core/verb.c" "$src/plugin/core/names.c" "$src/plugin/core/log.c" \
	"$src/plugin/core/clock.c" "$src/plugin/core/error.c" -lpthread
# shellcheck disable=SC2086  # the same
$CLANG $flags -o "$out/fuzz_endpoint" "$here/fuzz_endpoint.c" "$src/plugin/core/endpoint.c" \
	"$src/plugin/core/error.c"
echo "fuzz: built $out/fuzz_policy $out/fuzz_proto $out/fuzz_storage $out/fuzz_peer $out/fuzz_verbs $out/fuzz_endpoint"
