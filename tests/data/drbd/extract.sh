#!/bin/sh
# Turns the strace captures (*.trace, made by capture.sh in a lab host) into
# one hex line per netlink message: NAME.req (what drbdsetup-84 wrote to the
# generic-netlink socket after the family lookup) and NAME.reply (the
# kernel's answer to it).  The CUnit suite test_drbd_capture.c compares
# drbdmig's encoder against the .req files byte for byte and decodes the
# .reply files.
set -eu
cd "$(dirname "$0")"
# broadcast events: every drbd-family message the `events` listener received
if [ -f events.trace ]; then
	grep -E 'recvmsg\(3, .*nlmsg_type=drbd' events.trace | grep -v MSG_PEEK |
		sed -E 's/.*nlmsg_len=([0-9]+), nlmsg_type=drbd, nlmsg_flags=([A-Z_|0-9]+), nlmsg_seq=([0-9]+), nlmsg_pid=([0-9]+)\}, "([^"]*)".*/\1 \2 \3 \4 \5/; s/\\x//g' > events.list
fi
for t in *.trace; do
	[ "$t" = events.trace ] && continue
	n=${t%.trace}
	# (down-dump.req, the status dump drbdsetup sends before `down`, is the
	# first of down.trace's writes; it was cut out by hand)
	# writes on the netlink socket (fd 3) other than the 32-byte nlctrl
	# family lookup; the last one is the command itself
	grep -E '^[0-9]+ +write\(3, ' "$t" | grep -v ', 32) = 32$' | tail -n 1 |
		sed -E 's/^[0-9]+ +write\(3, "//; s/", [0-9]+\) = [0-9]+$//; s/\\x//g' > "$n.req"
	# the kernel's reply: the last drbd-family message not peeked at
	grep -E 'recvmsg\(3, .*nlmsg_type=drbd' "$t" | grep -v MSG_PEEK | tail -n 1 |
		sed -E 's/.*nlmsg_len=([0-9]+), nlmsg_type=drbd, nlmsg_flags=([A-Z_|0-9]+), nlmsg_seq=([0-9]+), nlmsg_pid=([0-9]+)\}, "([^"]*)".*/\1 \2 \3 \4 \5/; s/\\x//g' > "$n.reply"
	[ -s "$n.reply" ] || rm -f "$n.reply"
done
