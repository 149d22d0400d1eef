#!/usr/bin/python3
"""Live-migrates a domain through the libvirt API the way OpenStack Nova and
oVirt drive libvirt: virDomainMigrateToURI3 with LIVE | PEER2PEER |
PERSIST_DEST | UNDEFINE_SOURCE, from this host's qemu:///system to
qemu+tcp://DEST-IP/system, migration data over tcp://DEST-IP.

usage: apimigrate.py DOMAIN DEST-IP
Exit 0 when libvirt reports success; 1 with libvirt's error on stderr."""
import sys

import libvirt


def main():
    if len(sys.argv) != 3:
        print(__doc__.strip().splitlines()[-2], file=sys.stderr)
        return 2
    name, dest = sys.argv[1], sys.argv[2]
    flags = (libvirt.VIR_MIGRATE_LIVE | libvirt.VIR_MIGRATE_PEER2PEER |
             libvirt.VIR_MIGRATE_PERSIST_DEST | libvirt.VIR_MIGRATE_UNDEFINE_SOURCE)
    params = {libvirt.VIR_MIGRATE_PARAM_URI: "tcp://%s" % dest}
    conn = libvirt.open("qemu:///system")
    try:
        dom = conn.lookupByName(name)
        dom.migrateToURI3("qemu+tcp://%s/system" % dest, params, flags)
    except libvirt.libvirtError as e:
        print("apimigrate: %s" % e, file=sys.stderr)
        return 1
    finally:
        conn.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
