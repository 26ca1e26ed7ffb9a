// decodePlan(bytes) -> the Plan the child would run, as a NativePlan-shaped
// object (null if the bytes do not decode). Written by hand from struct Plan,
// not generated from native/wire/wire.js, so that a round trip through it
// checks the description's member mapping too, not only the field order.
#include <sys/sysmacros.h>

#include <napi.h>

#include "plan_store.h"

namespace berth {

namespace {

Napi::Value Str(Napi::Env env, const char* s) { return Napi::String::New(env, s); }
Napi::Value Int(Napi::Env env, double v) { return Napi::Number::New(env, v); }
Napi::Value Big(Napi::Env env, uint64_t v) { return Napi::BigInt::New(env, v); }
Napi::Value Bool(Napi::Env env, int v) { return Napi::Boolean::New(env, v != 0); }

// Strings null on the wire come back absent, as NativePlan's optional ones.
void SetOptional(Napi::Object o, const char* key, const char* s) {
  if (s) o.Set(key, Str(o.Env(), s));
}

template <class T, class F>
Napi::Array List(Napi::Env env, const T* items, int n, F to_js) {
  Napi::Array a = Napi::Array::New(env, n);
  for (int i = 0; i < n; i++) a.Set((uint32_t)i, to_js(items[i]));
  return a;
}

Napi::Object Mount(Napi::Env env, const MountSpec& m) {
  Napi::Object o = Napi::Object::New(env);
  SetOptional(o, "source", m.source);
  o.Set("destination", Str(env, m.destination));
  SetOptional(o, "type", m.type);
  SetOptional(o, "data", m.data);
  o.Set("flags", Int(env, (double)m.flags));
  o.Set("attrSet", Int(env, (double)m.attr_set));
  o.Set("propagation", Int(env, (double)m.propagation));
  o.Set("kind", Int(env, m.kind));
  o.Set("recursive", Bool(env, m.recursive));
  o.Set("destIsFile", Bool(env, m.dest_is_file));
  return o;
}

Napi::Object Device(Napi::Env env, const DeviceSpec& d) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("path", Str(env, d.path));
  o.Set("mode", Int(env, d.mode));
  o.Set("major", Int(env, major(d.dev)));
  o.Set("minor", Int(env, minor(d.dev)));
  o.Set("uid", Int(env, d.uid));
  o.Set("gid", Int(env, d.gid));
  return o;
}

Napi::Object ToJs(Napi::Env env, const Plan& p) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("cloneFlags", Int(env, (double)p.clone_flags));
  o.Set("joins", List(env, p.joins, p.njoins, [env](const NsJoin& j) {
    Napi::Object x = Napi::Object::New(env);
    x.Set("fd", Int(env, j.fd));
    x.Set("nstype", Int(env, j.nstype));
    return x;
  }));
  o.Set("cgroupFd", Int(env, p.cgroup_fd));
  o.Set("joinPidfd", Int(env, p.join_pidfd));
  o.Set("joinNsFlags", Int(env, p.join_ns_flags));
  o.Set("joinRootFd", Int(env, p.join_root_fd));
  o.Set("cgroupDirs", List(env, p.cgroup_dirs, p.ncgroup_dirs, [env](const CgroupDirSpec& d) {
    Napi::Object x = Napi::Object::New(env);
    x.Set("path", Str(env, d.path));
    x.Set("leaf", Bool(env, d.leaf));
    x.Set("cpuset", Bool(env, d.cpuset));
    return x;
  }));
  o.Set("cgroupWrites", List(env, p.cgroup_writes, p.ncgroup_writes, [env](const CgroupWriteSpec& w) {
    Napi::Object x = Napi::Object::New(env);
    x.Set("path", Str(env, w.path));
    x.Set("value", Str(env, w.value));
    x.Set("optional", Bool(env, w.optional));
    return x;
  }));
  auto str = [env](const char* s) { return Str(env, s); };
  o.Set("cgroupProcs", List(env, p.cgroup_procs, p.ncgroup_procs, str));
  o.Set("unshareCgroupns", Bool(env, p.unshare_cgroupns));
  o.Set("setupRootfs", Bool(env, p.setup_rootfs));
  o.Set("rootfs", Str(env, p.rootfs));
  o.Set("rootfsPropagation", Int(env, (double)p.rootfs_propagation));
  o.Set("readonlyRoot", Bool(env, p.readonly_root));
  o.Set("mounts", List(env, p.mounts, p.nmounts, [env](const MountSpec& m) { return Mount(env, m); }));
  o.Set("devices", List(env, p.devices, p.ndevices, [env](const DeviceSpec& d) { return Device(env, d); }));
  o.Set("links", List(env, p.links, p.nlinks, [env](const LinkSpec& l) {
    Napi::Object x = Napi::Object::New(env);
    x.Set("target", Str(env, l.target));
    x.Set("path", Str(env, l.path));
    return x;
  }));
  o.Set("masked", List(env, p.masked, p.nmasked, str));
  o.Set("readonly", List(env, p.readonly, p.nreadonly, str));
  o.Set("sysctls", List(env, p.sysctls, p.nsysctls, [env](const SysctlSpec& s) {
    Napi::Object x = Napi::Object::New(env);
    x.Set("path", Str(env, s.path));
    x.Set("value", Str(env, s.value));
    return x;
  }));
  SetOptional(o, "hostname", p.hostname);
  SetOptional(o, "domainname", p.domainname);
  o.Set("loopbackUp", Bool(env, p.loopback_up));
  // argv and envp end with a null pointer: that, not a count, is what execve sees.
  auto terminated = [env](char* const* v) {
    Napi::Array a = Napi::Array::New(env);
    for (uint32_t i = 0; v[i]; i++) a.Set(i, Str(env, v[i]));
    return a;
  };
  o.Set("args", terminated(p.argv));
  o.Set("env", terminated(p.envp));
  o.Set("pathEnv", Str(env, p.path_env));
  SetOptional(o, "cwd", p.cwd);
  o.Set("uid", Int(env, p.uid));
  o.Set("gid", Int(env, p.gid));
  o.Set("groups", List(env, p.groups, p.ngroups, [env](gid_t g) { return Int(env, g); }));
  o.Set("setGroups", Bool(env, p.set_groups));
  o.Set("umask", Int(env, p.umask));
  o.Set("setCaps", Bool(env, p.set_caps));
  o.Set("caps", List(env, p.caps, CAP_SET_COUNT, [env](uint64_t c) { return Big(env, c); }));
  o.Set("capLast", Int(env, p.cap_last));
  o.Set("noNewPrivs", Bool(env, p.no_new_privs));
  if (p.seccomp_filter)
    o.Set("seccompFilter", Napi::Buffer<char>::Copy(env, (const char*)p.seccomp_filter, (size_t)p.nseccomp_filter));
  o.Set("seccompFlags", Int(env, p.seccomp_flags));
  o.Set("rlimits", List(env, p.rlimits, p.nrlimits, [env](const RlimitSpec& r) {
    Napi::Object x = Napi::Object::New(env);
    x.Set("resource", Int(env, r.resource));
    x.Set("soft", Big(env, r.soft));
    x.Set("hard", Big(env, r.hard));
    return x;
  }));
  o.Set("ioPriority", Int(env, p.ioprio));
  if (p.has_oom_score_adj) o.Set("oomScoreAdj", Int(env, p.oom_score_adj));
  o.Set("forkIntoPidns", Bool(env, p.fork_into_pidns));
  SetOptional(o, "timeOffsets", p.time_offsets);
  o.Set("personality", Int(env, p.personality));
  o.Set("schedPolicy", Int(env, p.sched_policy));
  o.Set("schedFlags", Int(env, (double)p.sched_flags));
  o.Set("schedNice", Int(env, p.sched_nice));
  o.Set("schedPriority", Int(env, p.sched_priority));
  o.Set("schedRuntime", Int(env, (double)p.sched_runtime));
  o.Set("schedDeadline", Int(env, (double)p.sched_deadline));
  o.Set("schedPeriod", Int(env, (double)p.sched_period));
  auto big = [env](uint64_t w) { return Big(env, w); };
  o.Set("cpuAffinityInitial", List(env, p.cpu_affinity_initial, p.ncpu_affinity_initial, big));
  o.Set("cpuAffinityFinal", List(env, p.cpu_affinity_final, p.ncpu_affinity_final, big));
  o.Set("memoryPolicyMode", Int(env, p.mempolicy_mode));
  o.Set("memoryPolicyNodes", List(env, p.mempolicy_nodes, p.nmempolicy_nodes, big));
  SetOptional(o, "apparmorProfile", p.apparmor_profile);
  SetOptional(o, "selinuxLabel", p.selinux_label);
  o.Set("terminal", Bool(env, p.terminal));
  o.Set("consoleWidth", Int(env, p.console_width));
  o.Set("consoleHeight", Int(env, p.console_height));
  o.Set("fds", List(env, p.fds, p.nfds, [env](int fd) { return Int(env, fd); }));
  o.Set("parentDeathSignal", Int(env, p.parent_death_signal));
  o.Set("execAfterReady", Bool(env, p.exec_after_ready));
  o.Set("startFd", p.start_fd);
  o.Set("hooksPause", Bool(env, p.hooks_pause));
  if (p.exec_path) o.Set("execPath", p.exec_path);
  return o;
}

}  // namespace

Napi::Value DecodePlanToJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsBuffer()) {
    Napi::TypeError::New(env, "decodePlan(plan): plan must be a Buffer (encodePlan)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Buffer<char> bytes = info[0].As<Napi::Buffer<char>>();
  PlanStore store;
  if (!DecodePlan(bytes.Data(), bytes.Length(), &store)) return env.Null();
  return ToJs(env, store.plan);
}

}  // namespace berth
