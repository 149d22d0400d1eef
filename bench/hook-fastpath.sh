#!/bin/sh
# Hook cost for a domain without the drbdmig annotation, against a bare
# process start (/bin/true), same stdin, alternating runs in one process.
#   bench/hook-fastpath.sh HOOK_BINARY [RUNS]
set -eu
hook=${1:?usage: hook-fastpath.sh HOOK_BINARY [RUNS]}
runs=${2:-1000}
bench=${HOOKBENCH:-$(dirname "$hook")/../bench/hookbench}
xml=$(mktemp)
trap 'rm -f "$xml"' EXIT
# A realistic libvirt domain XML (~6 KiB) without the annotation.
{
	echo "<domain type='kvm' id='3'><name>plain</name><uuid>4d7c0a2e-8f35-4c1b-9e6a-0b2d5f8e1a77</uuid>"
	echo "<metadata><app:info xmlns:app='urn:example:app'><app:owner>ops</app:owner></app:info></metadata>"
	echo "<memory unit='KiB'>2097152</memory><vcpu placement='static'>2</vcpu>"
	i=0
	while [ $i -lt 40 ]; do
		echo "<disk type='block' device='disk'><driver name='qemu' type='raw' cache='none' io='native'/><source dev='/dev/vg0/plain-$i'/><target dev='vd$i' bus='virtio'/></disk>"
		i=$((i + 1))
	done
	echo "</domain>"
} > "$xml"
echo "== hook fast path (non-annotated domain, 'migrate begin') vs /bin/true"
"$bench" -n "$runs" -i "$xml" -- /bin/true -- "$hook" plain migrate begin -
