#!/bin/bash
# Build drbdmig's Debian package from a pristine copy of the committed tree
# (HEAD, in a temporary clone: uncommitted changes are not in it, and nothing
# is written into the worktree), run lintian on it, and print the .deb's path
# as the last line.
#
#   tests/deb/build-deb.sh [OUTDIR]     (default: _build/deb in the repository)
#
# OUTDIR receives the .deb, .buildinfo, .changes and lintian.txt.  The build
# runs `dpkg-buildpackage -us -uc -b` (unit and schema tests included; set
# DEB_BUILD_OPTIONS=nocheck to skip them).  Exit: 0 built and lintian clean
# (warnings and errors; overrides in debian/drbdmig.lintian-overrides),
# 1 otherwise, 77 the Debian tools are missing (tests/setup-deps.sh).
# A clone rather than `git archive`: autogen.sh takes the distributed file
# list from git, exactly as on a developer's clone.
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
out=${1:-$top/_build/deb}

for c in git dpkg-buildpackage dh lintian fakeroot; do
	command -v "$c" >/dev/null || { echo "build-deb: SKIP: $c missing (tests/setup-deps.sh)" >&2; exit 77; }
done
sha=$(git -C "$top" rev-parse --verify HEAD)
[ -z "$(git -C "$top" status --porcelain --untracked-files=no)" ] ||
	echo "build-deb: note: uncommitted changes are not packaged (building HEAD $sha)" >&2

work=$(mktemp -d "${TMPDIR:-/tmp}/drbdmig-deb.XXXXXX")
trap 'rm -rf --one-file-system "$work"' EXIT
git init -q "$work/drbdmig"
git -C "$work/drbdmig" fetch -q --depth 1 "file://$top" "$sha"
git -C "$work/drbdmig" checkout -q --detach FETCH_HEAD

echo "build-deb: dpkg-buildpackage -us -uc -b in $work/drbdmig (HEAD $sha)" >&2
if ! (cd "$work/drbdmig" &&
	DEB_BUILD_OPTIONS="parallel=$(nproc) ${DEB_BUILD_OPTIONS:-}" \
	dpkg-buildpackage -us -uc -b >"$work/build.log" 2>&1); then
	tail -n 60 "$work/build.log" >&2
	mkdir -p "$out" && cp "$work/build.log" "$out/build.log"
	echo "build-deb: dpkg-buildpackage failed (log: $out/build.log)" >&2
	exit 1
fi
mkdir -p "$out"
rm -f "$out"/drbdmig*.deb "$out"/drbdmig_*.changes "$out"/drbdmig_*.buildinfo
# the package and its debug symbols (drbdmig-dbgsym), which the .changes lists
cp "$work"/drbdmig*.deb "$work"/drbdmig_*.changes "$work"/drbdmig_*.buildinfo "$work/build.log" "$out/"
deb=$(ls "$out"/drbdmig_*.deb)

# -i: explanations; -I --pedantic: info and pedantic tags are shown too, but
# only errors and warnings fail (lintian's default --fail-on).
rc=0
lintian --allow-root -I --pedantic --fail-on error,warning "$out"/drbdmig_*.changes >"$out/lintian.txt" 2>&1 || rc=$?
if [ -s "$out/lintian.txt" ]; then
	sed 's/^/lintian: /' "$out/lintian.txt" >&2
else
	echo "build-deb: lintian -I --pedantic: no tags (overrides: debian/drbdmig.lintian-overrides)" >&2
fi
[ "$rc" -eq 0 ] || { echo "build-deb: lintian found errors or warnings" >&2; exit 1; }
echo "$deb"
