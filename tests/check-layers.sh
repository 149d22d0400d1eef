#!/bin/bash
# The rooms of plugin/ call only downwards (README "Layout"): a file of a
# room includes headers of its own room and of the rooms below it, never of
# one above.  Bottom to top:
#   core < storage < libvirt < peer < engine < daemon < cli, fence-peer
# (cli and fence-peer side by side, neither includes the other).  The
# engine also stays off libvirt and peer (issue 13: the session model with
# no libvirt, no GnuTLS, unit-testable).  hooks/ and bench/ include core
# only.  Prints each #include that breaks this and exits 1; exits 0 when
# there is none.
#
#   tests/check-layers.sh [top_srcdir]
set -uo pipefail
top=${1:-$(cd "$(dirname "$0")/.." && pwd)}

declare -A rank=([core]=0 [storage]=1 [libvirt]=2 [peer]=3 [engine]=4 [daemon]=5
	[cli]=6 [fence-peer]=6)
# rooms below a room that it must not include even so
declare -A forbid=([engine]="libvirt peer")

bad=0 nfiles=0
# check <file> <room of the file> <rank of the highest other room it may include>
check() {
	local file=$1 room=$2 max=$3 line inc dir below="rooms below it"
	[ -n "${rank[$room]+x}" ] || below="core"
	nfiles=$((nfiles + 1))
	while IFS= read -r line; do
		[[ $line =~ ^[[:space:]]*#[[:space:]]*include[[:space:]]*([\"\<])([^\"\>]+) ]] || continue
		inc=${BASH_REMATCH[2]}
		dir=${inc%%/*}
		if [[ $inc != */* || -z ${rank[$dir]+x} ]]; then
			# <stdio.h>, <linux/fs.h>; "config.h" from configure
			[[ ${BASH_REMATCH[1]} == '<' || $inc == config.h ]] && continue
			echo "$file: #include \"$inc\": not a room's header (plugin/<room>/...)"
			bad=1
		elif [[ $dir != "$room" ]] && [ "${rank[$dir]}" -gt "$max" ]; then
			echo "$file: #include \"$inc\": $room may include only $below"
			bad=1
		elif [[ " ${forbid[$room]:-} " == *" $dir "* ]]; then
			echo "$file: #include \"$inc\": $room must not include $dir"
			bad=1
		fi
	done < "$file"
}

cd "$top" || exit 1
for dir in plugin/*/; do
	room=${dir#plugin/}
	room=${room%/}
	if [ -z "${rank[$room]+x}" ]; then
		echo "plugin/$room: not a known room (add it to ${0##*/} and README \"Layout\")"
		bad=1
		continue
	fi
	for f in "$dir"*.[ch]; do
		[ -e "$f" ] || continue
		# its own room, or one strictly below
		check "$f" "$room" "$((rank[$room] - 1))"
	done
done
for f in hooks/*.c bench/*.c; do
	[ -e "$f" ] || continue
	check "$f" "${f%%/*}" 0
done
if [ $bad -eq 0 ]; then
	echo "layers: $nfiles files, every #include goes to its own room or one below it"
fi
exit $bad
