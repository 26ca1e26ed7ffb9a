#!/bin/sh
# Smoke payload of the VM lane (`node scripts/vm/run.js --smoke`): checks that
# the guest is the pure cgroup v2 system the berth tests expect, without the
# package. Prints "N passed, N failed" and exits non-zero on any failure.
CG=/sys/fs/cgroup
pass=0
failed=0
ok() { echo "  ok   $*"; pass=$((pass + 1)); }
bad() { echo "  FAIL $*"; failed=$((failed + 1)); }
check() { # check NAME CMD...
  name=$1; shift
  if "$@" >/tmp/smoke.out 2>&1; then ok "$name"; else bad "$name: $(tr '\n' ' ' </tmp/smoke.out)"; fi
}
wr() { echo "$2" > "$1"; }

echo "smoke: node start"
t0=$(cut -d' ' -f1 /proc/uptime)
check "node runs and reads cgroup.controllers" \
  node -e "const c=require('fs').readFileSync('/sys/fs/cgroup/cgroup.controllers','utf8').trim(); console.log('controllers:', c); process.exit(c ? 0 : 1)"
t1=$(cut -d' ' -f1 /proc/uptime)
echo "smoke: node -e took $(awk "BEGIN{print $t1-$t0}")s"

check "pure v2: no cgroup v1 hierarchy in /proc/mounts" sh -c '! grep -q " cgroup " /proc/mounts'
check "cgroup2 mounted at /sys/fs/cgroup" sh -c 'grep -q "^cgroup2 /sys/fs/cgroup cgroup2" /proc/mounts'
check "/proc/self/cgroup is v2 only" sh -c 'test "$(cat /proc/self/cgroup)" = "0::$(cut -d: -f3 /proc/self/cgroup)" && test "$(wc -l < /proc/self/cgroup)" = 1'
for c in cpu cpuset memory pids io hugetlb; do
  check "enable +$c in root cgroup.subtree_control" wr $CG/cgroup.subtree_control "+$c"
done
check "subtree_control lists cpu memory pids io" sh -c "for c in cpu memory pids io; do grep -qw \$c $CG/cgroup.subtree_control || exit 1; done"

S=$CG/berth-smoke
mkdir -p $S/c
check "nested enable in berth-smoke" wr $S/cgroup.subtree_control "+cpu +memory +pids +io +cpuset"
C=$S/c
for f in memory.max memory.swap.max memory.low memory.high memory.peak memory.events memory.stat \
         cpu.max cpu.weight cpu.stat pids.max pids.current io.max io.weight io.stat \
         cpuset.cpus cpuset.mems cgroup.freeze cgroup.kill cgroup.events cgroup.procs; do
  check "file $f" test -e $C/$f
done
check "memory.max = 64M" sh -c "echo 67108864 > $C/memory.max && test \$(cat $C/memory.max) = 67108864"
check "memory.swap.max = 0" wr $C/memory.swap.max 0
check "cpu.max = 50000 100000" sh -c "echo '50000 100000' > $C/cpu.max && test \"\$(cat $C/cpu.max)\" = '50000 100000'"
check "cpu.weight = 39" wr $C/cpu.weight 39
check "pids.max = 32" wr $C/pids.max 32
check "cpuset.cpus = 0" wr $C/cpuset.cpus 0
if [ -b /dev/ram0 ]; then
  dev=$(cat /sys/block/ram0/dev)
  check "io.max on /dev/ram0 ($dev)" sh -c "echo '$dev rbps=1048576 wiops=100' > $C/io.max && grep -q '^$dev rbps=1048576' $C/io.max"
else
  bad "no /dev/ram0 (brd module) for io.max"
fi

# a process placed in the cgroup: pids limit, freeze, kill
rm -f /tmp/forks
sh -c "echo \$\$ > $C/cgroup.procs
  n=0; while [ \$n -lt 40 ]; do sleep 30 & n=\$((n+1)); echo \$n > /tmp/forks; done" 2>/dev/null
check "pids.max=32 stops the 33rd process (pids.current $(cat $C/pids.current), forked $(cat /tmp/forks 2>/dev/null))" \
  sh -c "test \$(cat $C/pids.current) -le 32 && grep -q '^max [1-9]' $C/pids.events"
echo 1 > $C/cgroup.kill
sleep 1
check "cgroup.kill empties the cgroup" test -z "$(cat $C/cgroup.procs)"
echo max > $C/pids.max

sh -c "echo \$\$ > $C/cgroup.procs; i=0; while :; do i=\$((i+1)); echo \$i > /tmp/counter; sleep 0.05; done" &
sleep 1
echo 1 > $C/cgroup.freeze
i=0; while ! grep -q 'frozen 1' $C/cgroup.events && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
check "cgroup.freeze reaches frozen 1" grep -q 'frozen 1' $C/cgroup.events
a=$(cat /tmp/counter); sleep 1; b=$(cat /tmp/counter)
check "frozen counter does not advance ($a -> $b)" test "$a" = "$b"
echo 0 > $C/cgroup.freeze
sleep 1; c=$(cat /tmp/counter)
check "thawed counter advances ($b -> $c)" test "$c" -gt "$b"
echo 1 > $C/cgroup.kill
wait

# OOM: 64 MiB limit, node allocates 200 MiB
echo 0 > $C/memory.swap.max
check "memory.max=64M OOM-kills a 200 MiB allocation" sh -c "
  echo \$\$ > $C/cgroup.procs
  node -e 'const a=[]; for (let i=0;i<200;i++) a.push(Buffer.alloc(1<<20, 1)); console.log(\"allocated\")'
  st=\$?; test \$st = 137"
check "memory.events counts the oom_kill" sh -c "grep -q '^oom_kill [1-9]' $C/memory.events"

# cpu quota: 50% of one CPU for a busy loop
echo '50000 100000' > $C/cpu.max
u0=$(awk '/^usage_usec/{print $2}' $C/cpu.stat)
sh -c "echo \$\$ > $C/cgroup.procs; exec timeout 3 sh -c 'while :; do :; done'" 2>/dev/null
usec=$(( $(awk '/^usage_usec/{print $2}' $C/cpu.stat) - u0 ))
check "cpu.max 50% keeps 3s of busy loop near 1.5s cpu (usage ${usec}us)" sh -c "test $usec -gt 900000 && test $usec -lt 2000000"

for i in 1 2 3 4 5 6 7 8 9 10; do rmdir $C 2>/dev/null && break; sleep 0.2; done
rmdir $S
check "cgroups removed" test ! -e $S

echo "smoke: $pass passed, $failed failed"
[ $failed = 0 ]
