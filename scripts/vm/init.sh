#!/bin/sh
# /init of the berth cgroup v2 VM lane (runs as pid 1 inside the initramfs).
# Copied into the initramfs by scripts/vm/run.js, which also writes
# /vm/cmd.sh (the test command) and /vm/env (run id, module list).
# Prints "BERTH-VM-EXIT=<status> run=<id>" on the console, then powers off.
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH
/bin/busybox --install -s /bin

# Never return from here: pid 1 exiting panics the kernel (panic=-1 reboots,
# which -no-reboot turns into a QEMU exit; the host then sees no marker).
. /vm/env
finish() {
  echo "BERTH-VM-EXIT=$1 run=$BERTH_VM_RUN"
  sync
  poweroff -f
  sleep 5
  reboot -f
}
trap 'finish 125' INT TERM

fail=0
must() { "$@" || { echo "vm-init: FAILED: $*" >&2; fail=1; }; }

must mount -t proc -o nosuid,nodev,noexec proc /proc
must mount -t sysfs -o nosuid,nodev,noexec sysfs /sys
must mount -t cgroup2 -o nosuid,nodev,noexec,nsdelegate,memory_recursiveprot cgroup2 /sys/fs/cgroup
must mount -t devtmpfs -o nosuid,mode=0755 devtmpfs /dev
mkdir -p /dev/pts /dev/shm /dev/mqueue
must mount -t devpts -o nosuid,noexec,newinstance,ptmxmode=0666,mode=0620,gid=5 devpts /dev/pts
mount -t mqueue -o nosuid,nodev,noexec mqueue /dev/mqueue 2>/dev/null
must mount -t tmpfs -o nosuid,nodev,mode=1777 tmpfs /dev/shm
must mount -t tmpfs -o nosuid,nodev,mode=1777 tmpfs /tmp
must mount -t tmpfs -o nosuid,nodev,mode=0755 tmpfs /run
[ -e /dev/fd ] || ln -s /proc/self/fd /dev/fd
[ -e /dev/stdin ] || ln -s /proc/self/fd/0 /dev/stdin
[ -e /dev/stdout ] || ln -s /proc/self/fd/1 /dev/stdout
[ -e /dev/stderr ] || ln -s /proc/self/fd/2 /dev/stderr
must ip link set lo up
hostname berth-vm

# Optional modules (brd gives /dev/ram0, a block device for io.max tests).
for m in $BERTH_VM_MODULES; do
  if [ -f "/vm/modules/$m.ko" ]; then
    case "$m" in
      brd) insmod "/vm/modules/$m.ko" rd_nr=1 rd_size=65536 ;;
      *) insmod "/vm/modules/$m.ko" ;;
    esac || echo "vm-init: insmod $m failed" >&2
  fi
done

if [ "$fail" != 0 ]; then
  finish 126
fi

# --cgroup: run the payload in a non-root cgroup, as under systemd (the
# ancestors get every controller enabled, the cgroup itself gets none).
if [ -n "$BERTH_VM_CGROUP" ]; then
  cur=/sys/fs/cgroup
  ctrls=$(sed 's/[^ ][^ ]*/+&/g' /sys/fs/cgroup/cgroup.controllers)
  for part in $(echo "$BERTH_VM_CGROUP" | tr / ' '); do
    for c in $ctrls; do echo "$c" > "$cur/cgroup.subtree_control" 2>/dev/null; done
    cur="$cur/$part"
    mkdir -p "$cur" || finish 126
  done
  echo $$ > "$cur/cgroup.procs" || finish 126
fi

echo "vm-init: up $(cut -d' ' -f1 /proc/uptime)s, kernel $(uname -r), cgroup v2 controllers: $(cat /sys/fs/cgroup/cgroup.controllers), cgroup $(cut -d: -f3 /proc/self/cgroup)"
cd /berth 2>/dev/null || cd /
export HOME=/root TMPDIR=/tmp TERM=dumb CI=true NO_COLOR=1 BERTH_VM=1
# Through a pipe so the test runner does not see a TTY (plain CI-style output).
set -o pipefail
sh /vm/cmd.sh </dev/null 2>&1 | cat
status=$?
echo "vm-init: done $(cut -d' ' -f1 /proc/uptime)s"
finish "$status"
