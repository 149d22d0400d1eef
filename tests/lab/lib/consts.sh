# shellcheck shell=bash
# The kernel lab's network and naming constants, defined once. Sourced on the machine
# (not inside the lab hosts) by lib/common.sh (lab.sh, image/build.sh), by
# tests/lab/tests/lib/testlib.sh (every lab test, bench/lab-migrate.sh) and by bench/lab-storage.sh.
# The hosts get their own values from lab.sh (kernel command line: lab.ip, lab.peer,
# lab.name, lab.peername) or as expanded words of the commands run on them. Nothing here
# runs anything; it only sets variables.
# shellcheck disable=SC2034  # the variables here are used by the scripts that source this

# The private link between host A and host B (eth0 in each, a /24).
LAB_NET=10.99.0                   # A is .1, B is .2 (lab.sh's host_ip: LAB_NET.<index>)
LAB_IP_A=$LAB_NET.1
LAB_IP_B=$LAB_NET.2
LAB_NETMASK=24
LAB_LINK_DEV=eth0
# Host names (lab.sh's host_name: lab-<letter>).
LAB_HOSTNAME_A=lab-a
LAB_HOSTNAME_B=lab-b
# Extra addresses on the link that are no peer's (migrate-rogue's connection flood
# comes from them: A adds the first, B the second).
LAB_ROGUE_IP_A=$LAB_NET.11
LAB_ROGUE_IP_B=$LAB_NET.12
# The volume group each host's init creates on its second disk (guest/init says vg0 on
# its own: it runs inside the host).
LAB_VG=vg0

# Port ranges that one tc u32 match (PORT MASK) covers: 64 ports from a multiple of 64.
LAB_PORT_MASK=0xffc0
# The DRBD ports the migration tests configure (drbd_port_min/max) so that tc can cut
# DRBD's traffic: 7808..7871 (0x1e80 / 0xffc0).
LAB_DRBD_PORT_MIN=7808
LAB_DRBD_PORT_MAX=7871
# libvirt's default migration ports (qemu.conf migration_port_min) start at 49152: the
# memory copy goes to 49152..49215 (0xc000 / 0xffc0) in the lab.
LAB_MIG_PORT_MIN=49152
