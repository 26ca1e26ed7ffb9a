// Owns the storage behind a Plan's pointers, filled from the serialized
// bytes (plan_codec.cc): by spawn in the addon and by berth-init after exec.
#pragma once
#include <deque>
#include <string>
#include <vector>

#include "plan.h"

namespace berth {

struct PlanStore {
  Plan plan{};
  std::deque<std::string> strings;  // deque: element addresses never move
  std::vector<MountSpec> mounts;
  std::vector<DeviceSpec> devices;
  std::vector<LinkSpec> links;
  std::vector<const char*> masked, readonly;
  std::vector<SysctlSpec> sysctls;
  std::vector<char*> argv, envp;  // NULL-terminated
  std::vector<gid_t> groups;
  std::vector<RlimitSpec> rlimits;
  std::vector<int> fds;
  std::vector<CgroupDirSpec> cgroup_dirs;
  std::vector<CgroupWriteSpec> cgroup_writes;
  std::vector<const char*> cgroup_procs;

  const char* keep(const std::string& s) {
    strings.push_back(s);
    return strings.back().c_str();
  }

  // Points the Plan's array fields at the vectors (call once they are filled).
  void finalize() {
    plan.mounts = mounts.data();
    plan.nmounts = (int)mounts.size();
    plan.devices = devices.data();
    plan.ndevices = (int)devices.size();
    plan.links = links.data();
    plan.nlinks = (int)links.size();
    plan.masked = masked.data();
    plan.nmasked = (int)masked.size();
    plan.readonly = readonly.data();
    plan.nreadonly = (int)readonly.size();
    plan.sysctls = sysctls.data();
    plan.nsysctls = (int)sysctls.size();
    plan.argv = argv.data();
    plan.envp = envp.data();
    plan.groups = groups.data();
    plan.ngroups = (int)groups.size();
    plan.rlimits = rlimits.data();
    plan.nrlimits = (int)rlimits.size();
    plan.fds = fds.data();
    plan.nfds = (int)fds.size();
    plan.cgroup_dirs = cgroup_dirs.data();
    plan.ncgroup_dirs = (int)cgroup_dirs.size();
    plan.cgroup_writes = cgroup_writes.data();
    plan.ncgroup_writes = (int)cgroup_writes.size();
    plan.cgroup_procs = cgroup_procs.data();
    plan.ncgroup_procs = (int)cgroup_procs.size();
  }
};

// Serialization across execve (no pointers on the wire).
bool DecodePlan(const char* data, size_t size, PlanStore* out);

}  // namespace berth
