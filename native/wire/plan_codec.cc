// bytes -> Plan: the plan as lib/launch/plan-codec.ts encodes it (integers as
// 8 bytes, strings as a length (all ones = null) and their bytes, arrays as a
// count and items), decoded by spawn (addon) and again by berth-init after
// exec. Encoder and decoder walk the fields in the same order; a magic word at
// both ends guards against a plan from another build.
#include <string.h>

#include "plan_store.h"

namespace berth {

namespace {

const uint64_t kMagic = 0x62657274680003ULL;  // "berth" + format version
const uint64_t kNull = ~0ULL;

struct Reader {
  const char* p;
  const char* end;
  bool ok = true;
  uint64_t u() {
    uint64_t v = 0;
    if (end - p < (long)sizeof v) return ok = false, 0;
    memcpy(&v, p, sizeof v);
    p += sizeof v;
    return v;
  }
  // Returns null for a null string; keeps non-null ones in the store.
  const char* s(PlanStore* st) {
    uint64_t n = u();
    if (!ok || n == kNull) return nullptr;
    if ((uint64_t)(end - p) < n) return ok = false, nullptr;
    const char* v = st->keep(std::string(p, n));
    p += n;
    return v;
  }
  // An array count, bounded so a corrupt count cannot make us allocate wildly.
  uint64_t count() {
    uint64_t n = u();
    if (n > (uint64_t)(end - p)) ok = false;
    return ok ? n : 0;
  }
};

}  // namespace

bool DecodePlan(const char* data, size_t size, PlanStore* st) {
  Reader r{data, data + size};
  Plan& p = st->plan;
  if (r.u() != kMagic) return false;
  p.clone_flags = r.u();
  p.njoins = (int)r.u();
  if (p.njoins < 0 || p.njoins > 8) return false;
  for (int i = 0; i < p.njoins; i++) p.joins[i].fd = (int)r.u(), p.joins[i].nstype = (int)r.u();
  p.cgroup_fd = (int)(int64_t)r.u();
  p.join_pidfd = (int)(int64_t)r.u();
  p.join_ns_flags = (int)r.u();
  p.join_root_fd = (int)(int64_t)r.u();
  for (uint64_t i = 0, n = r.count(); i < n; i++) {
    const char* path = r.s(st);
    int leaf = (int)r.u(), cpuset = (int)r.u();
    st->cgroup_dirs.push_back({path, leaf, cpuset});
  }
  for (uint64_t i = 0, n = r.count(); i < n; i++) {
    const char* path = r.s(st);
    const char* value = r.s(st);
    st->cgroup_writes.push_back({path, value, (int)r.u()});
  }
  for (uint64_t i = 0, n = r.count(); i < n; i++) st->cgroup_procs.push_back(r.s(st));
  p.unshare_cgroupns = (int)r.u();
  p.setup_rootfs = (int)r.u();
  p.rootfs = r.s(st);
  p.rootfs_propagation = (unsigned long)r.u();
  p.readonly_root = (int)r.u();
  for (uint64_t i = 0, n = r.count(); i < n; i++) {
    MountSpec m{};
    m.source = r.s(st), m.destination = r.s(st), m.type = r.s(st), m.data = r.s(st);
    m.flags = (unsigned long)r.u(), m.attr_set = r.u(), m.propagation = r.u();
    m.kind = (int)r.u(), m.recursive = (int)r.u(), m.dest_is_file = (int)r.u();
    st->mounts.push_back(m);
  }
  for (uint64_t i = 0, n = r.count(); i < n; i++) {
    DeviceSpec d{};
    d.path = r.s(st), d.mode = (mode_t)r.u(), d.dev = (dev_t)r.u(), d.uid = (uid_t)r.u(), d.gid = (gid_t)r.u();
    st->devices.push_back(d);
  }
  for (uint64_t i = 0, n = r.count(); i < n; i++) {
    const char* target = r.s(st);
    st->links.push_back({target, r.s(st)});
  }
  for (uint64_t i = 0, n = r.count(); i < n; i++) st->masked.push_back(r.s(st));
  for (uint64_t i = 0, n = r.count(); i < n; i++) st->readonly.push_back(r.s(st));
  for (uint64_t i = 0, n = r.count(); i < n; i++) {
    const char* path = r.s(st);
    st->sysctls.push_back({path, r.s(st)});
  }
  p.hostname = r.s(st);
  p.domainname = r.s(st);
  p.loopback_up = (int)r.u();
  for (uint64_t i = 0, n = r.count(); i < n; i++) st->argv.push_back(const_cast<char*>(r.s(st)));
  st->argv.push_back(nullptr);
  for (uint64_t i = 0, n = r.count(); i < n; i++) st->envp.push_back(const_cast<char*>(r.s(st)));
  st->envp.push_back(nullptr);
  p.path_env = r.s(st);
  p.cwd = r.s(st);
  p.uid = (uid_t)r.u();
  p.gid = (gid_t)r.u();
  for (uint64_t i = 0, n = r.count(); i < n; i++) st->groups.push_back((gid_t)r.u());
  p.set_groups = (int)r.u();
  p.umask = (int)(int64_t)r.u();
  p.set_caps = (int)r.u();
  for (int i = 0; i < CAP_SET_COUNT; i++) p.caps[i] = r.u();
  p.cap_last = (int)r.u();
  p.no_new_privs = (int)r.u();
  for (uint64_t i = 0, n = r.count(); i < n; i++) {
    RlimitSpec rl{};
    rl.resource = (int)r.u(), rl.soft = r.u(), rl.hard = r.u();
    st->rlimits.push_back(rl);
  }
  p.ioprio = (int)(int64_t)r.u();
  p.has_oom_score_adj = (int)r.u();
  p.oom_score_adj = (int)(int64_t)r.u();
  p.terminal = (int)r.u();
  p.console_width = (unsigned short)r.u();
  p.console_height = (unsigned short)r.u();
  for (uint64_t i = 0, n = r.count(); i < n; i++) st->fds.push_back((int)r.u());
  p.parent_death_signal = (int)r.u();
  p.exec_after_ready = (int)r.u();
  if (r.u() != kMagic || !r.ok || !p.rootfs || !p.path_env || st->argv.size() < 2) return false;
  st->finalize();
  return true;
}

}  // namespace berth
