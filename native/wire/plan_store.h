// Owns the storage behind a Plan's pointers, filled from the serialized
// bytes (plan_codec.gen.cc): by spawn in the addon and by berth-init after exec.
// One vector per array field of native/wire/wire.js, named as its Plan member.
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
  std::vector<const char*> overlay_lower;

  const char* keep(const std::string& s) {
    strings.push_back(s);
    return strings.back().c_str();
  }
};

// Serialization across execve (no pointers on the wire): false when the bytes
// are not a whole plan of this build's format.
bool DecodePlan(const char* data, size_t size, PlanStore* out);

}  // namespace berth
