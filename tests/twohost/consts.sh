# shellcheck shell=bash
# The two-libvirt-hosts setup's network and naming constants, defined once.
# Sourced by twohost.sh (and so by the twohost tests, which source that); it
# only sets variables.
# shellcheck disable=SC2034  # the variables here are used by the scripts that source this

# Host X is the network namespace TWOHOST_NETNS[X]; the two are joined by a veth
# pair (TWOHOST_VETH[X] in X) on a /TWOHOST_NETMASK, X's address TWOHOST_IP[X].
declare -A TWOHOST_NETNS=([A]=dmA [B]=dmB)
declare -A TWOHOST_VETH=([A]=dmA-veth [B]=dmB-veth)
declare -A TWOHOST_IP=([A]=10.77.0.1 [B]=10.77.0.2)
TWOHOST_NETMASK=24
# Its host name (UTS namespace, /etc/hosts) and libvirt host UUID.
declare -A TWOHOST_HOSTNAME=([A]=hostA [B]=hostB)
declare -A TWOHOST_UUID=([A]=d0d0aaaa-0000-4000-8000-00000000000a
			 [B]=d0d0bbbb-0000-4000-8000-00000000000b)
# drbdmig's peer port: the tests leave peer_port at its default (7780,
# plugin/core/conf.c), and the stamps and log lines they check name it.
TWOHOST_PEER_PORT=7780
