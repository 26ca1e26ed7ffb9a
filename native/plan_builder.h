// Converts the plan object built by lib/launch/plan.ts into the C Plan the child
// reads. Owns all storage; must outlive clone3 only (the child gets a copy).
#pragma once
#include <napi.h>

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "plan.h"

namespace berth {

class PlanHolder {
 public:
  // Returns null (with a pending JS exception) when the object is malformed.
  static std::unique_ptr<PlanHolder> FromJs(Napi::Env env, Napi::Object obj);
  const Plan* plan() const { return &plan_; }

 private:
  const char* keep(const std::string& s);
  Plan plan_{};
  std::deque<std::string> strings_;  // deque: element addresses never move
  std::vector<MountSpec> mounts_;
  std::vector<DeviceSpec> devices_;
  std::vector<LinkSpec> links_;
  std::vector<const char*> masked_, readonly_;
  std::vector<SysctlSpec> sysctls_;
  std::vector<char*> argv_, envp_;
  std::vector<gid_t> groups_;
  std::vector<RlimitSpec> rlimits_;
  std::vector<int> fds_;
  std::vector<CgroupDirSpec> cgroup_dirs_;
  std::vector<CgroupWriteSpec> cgroup_writes_;
  std::vector<const char*> cgroup_procs_;
};

}  // namespace berth
