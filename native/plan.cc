#include <sys/sysmacros.h>

#include "plan_builder.h"

namespace berth {

namespace {

bool Fail(Napi::Env env, const std::string& what) {
  Napi::TypeError::New(env, "native plan: bad field " + what).ThrowAsJavaScriptException();
  return false;
}

bool GetString(Napi::Env env, Napi::Object o, const char* key, std::string* out, bool optional = false) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() || v.IsNull()) {
    if (optional) return true;
    return Fail(env, key);
  }
  if (!v.IsString()) return Fail(env, key);
  *out = v.As<Napi::String>().Utf8Value();
  return true;
}

bool GetInt(Napi::Env env, Napi::Object o, const char* key, int64_t* out) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined()) {
    *out = 0;
    return true;
  }
  if (v.IsBoolean()) {
    *out = v.As<Napi::Boolean>().Value() ? 1 : 0;
    return true;
  }
  if (!v.IsNumber()) return Fail(env, key);
  *out = v.As<Napi::Number>().Int64Value();
  return true;
}

bool GetU64(Napi::Env env, Napi::Value v, const char* key, uint64_t* out) {
  if (v.IsBigInt()) {
    bool lossless = true;
    *out = v.As<Napi::BigInt>().Uint64Value(&lossless);
    return true;
  }
  if (v.IsNumber()) {
    *out = (uint64_t)v.As<Napi::Number>().Int64Value();
    return true;
  }
  return Fail(env, key);
}

bool GetArray(Napi::Env env, Napi::Object o, const char* key, Napi::Array* out) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined()) {
    *out = Napi::Array::New(env, 0);
    return true;
  }
  if (!v.IsArray()) return Fail(env, key);
  *out = v.As<Napi::Array>();
  return true;
}

}  // namespace

std::unique_ptr<PlanStore> PlanFromJs(Napi::Env env, Napi::Object o) {
  auto h = std::make_unique<PlanStore>();
  Plan& p = h->plan;
  int64_t n = 0;
  std::string s;
  Napi::Array arr;

  if (!GetU64(env, o.Get("cloneFlags"), "cloneFlags", &p.clone_flags)) return nullptr;
  if (!GetArray(env, o, "joins", &arr)) return nullptr;
  if (arr.Length() > 8) return Fail(env, "joins"), nullptr;
  for (uint32_t i = 0; i < arr.Length(); i++) {
    Napi::Object j = arr.Get(i).As<Napi::Object>();
    int64_t fd, type;
    if (!GetInt(env, j, "fd", &fd) || !GetInt(env, j, "nstype", &type)) return nullptr;
    p.joins[i] = {(int)fd, (int)type};
  }
  p.njoins = (int)arr.Length();
  if (!GetInt(env, o, "cgroupFd", &n)) return nullptr;
  p.cgroup_fd = o.Get("cgroupFd").IsUndefined() ? -1 : (int)n;

  int64_t jp, jf, jr;
  if (!GetInt(env, o, "joinPidfd", &jp) || !GetInt(env, o, "joinNsFlags", &jf) || !GetInt(env, o, "joinRootFd", &jr))
    return nullptr;
  p.join_pidfd = o.Get("joinPidfd").IsUndefined() ? -1 : (int)jp;
  p.join_ns_flags = (int)jf;
  p.join_root_fd = o.Get("joinRootFd").IsUndefined() ? -1 : (int)jr;
  if (!GetArray(env, o, "cgroupDirs", &arr)) return nullptr;
  for (uint32_t i = 0; i < arr.Length(); i++) {
    Napi::Object d = arr.Get(i).As<Napi::Object>();
    std::string path;
    int64_t leaf, cpuset;
    if (!GetString(env, d, "path", &path) || !GetInt(env, d, "leaf", &leaf) || !GetInt(env, d, "cpuset", &cpuset))
      return nullptr;
    h->cgroup_dirs.push_back({h->keep(path), (int)leaf, (int)cpuset});
  }
  if (!GetArray(env, o, "cgroupWrites", &arr)) return nullptr;
  for (uint32_t i = 0; i < arr.Length(); i++) {
    Napi::Object w = arr.Get(i).As<Napi::Object>();
    std::string path, value;
    int64_t optional;
    if (!GetString(env, w, "path", &path) || !GetString(env, w, "value", &value) || !GetInt(env, w, "optional", &optional))
      return nullptr;
    h->cgroup_writes.push_back({h->keep(path), h->keep(value), (int)optional});
  }
  if (!GetArray(env, o, "cgroupProcs", &arr)) return nullptr;
  for (uint32_t i = 0; i < arr.Length(); i++) {
    if (!arr.Get(i).IsString()) return Fail(env, "cgroupProcs"), nullptr;
    h->cgroup_procs.push_back(h->keep(arr.Get(i).As<Napi::String>().Utf8Value()));
  }
  if (!GetInt(env, o, "unshareCgroupns", &n)) return nullptr;
  p.unshare_cgroupns = (int)n;
  if (!GetInt(env, o, "setupRootfs", &n)) return nullptr;
  p.setup_rootfs = (int)n;
  if (!GetString(env, o, "rootfs", &s)) return nullptr;
  p.rootfs = h->keep(s);
  if (!GetInt(env, o, "rootfsPropagation", &n)) return nullptr;
  p.rootfs_propagation = (unsigned long)n;
  if (!GetInt(env, o, "readonlyRoot", &n)) return nullptr;
  p.readonly_root = (int)n;

  if (!GetArray(env, o, "mounts", &arr)) return nullptr;
  for (uint32_t i = 0; i < arr.Length(); i++) {
    Napi::Object m = arr.Get(i).As<Napi::Object>();
    MountSpec ms{};
    std::string v;
    if (!GetString(env, m, "destination", &v)) return nullptr;
    ms.destination = h->keep(v);
    v.clear();
    if (!GetString(env, m, "source", &v, true)) return nullptr;
    ms.source = v.empty() ? nullptr : h->keep(v);
    v.clear();
    if (!GetString(env, m, "type", &v, true)) return nullptr;
    ms.type = v.empty() ? nullptr : h->keep(v);
    v.clear();
    if (!GetString(env, m, "data", &v, true)) return nullptr;
    ms.data = v.empty() ? nullptr : h->keep(v);
    int64_t flags, kind, rec, file;
    uint64_t attr = 0, prop = 0;
    if (!GetInt(env, m, "flags", &flags) || !GetInt(env, m, "kind", &kind) || !GetInt(env, m, "recursive", &rec) ||
        !GetInt(env, m, "destIsFile", &file) || !GetU64(env, m.Get("attrSet"), "attrSet", &attr) ||
        !GetU64(env, m.Get("propagation"), "propagation", &prop))
      return nullptr;
    ms.flags = (unsigned long)flags;
    ms.kind = (int)kind;
    ms.recursive = (int)rec;
    ms.dest_is_file = (int)file;
    ms.attr_set = attr;
    ms.propagation = prop;
    h->mounts.push_back(ms);
  }

  if (!GetArray(env, o, "devices", &arr)) return nullptr;
  for (uint32_t i = 0; i < arr.Length(); i++) {
    Napi::Object d = arr.Get(i).As<Napi::Object>();
    std::string path;
    int64_t mode, major, minor, uid, gid;
    if (!GetString(env, d, "path", &path) || !GetInt(env, d, "mode", &mode) || !GetInt(env, d, "major", &major) ||
        !GetInt(env, d, "minor", &minor) || !GetInt(env, d, "uid", &uid) || !GetInt(env, d, "gid", &gid))
      return nullptr;
    h->devices.push_back({h->keep(path), (mode_t)mode, makedev((unsigned)major, (unsigned)minor), (uid_t)uid, (gid_t)gid});
  }

  if (!GetArray(env, o, "links", &arr)) return nullptr;
  for (uint32_t i = 0; i < arr.Length(); i++) {
    Napi::Object l = arr.Get(i).As<Napi::Object>();
    std::string target, path;
    if (!GetString(env, l, "target", &target) || !GetString(env, l, "path", &path)) return nullptr;
    h->links.push_back({h->keep(target), h->keep(path)});
  }

  for (auto [key, vec] : {std::pair<const char*, std::vector<const char*>*>{"masked", &h->masked}, {"readonly", &h->readonly}}) {
    if (!GetArray(env, o, key, &arr)) return nullptr;
    for (uint32_t i = 0; i < arr.Length(); i++) {
      if (!arr.Get(i).IsString()) return Fail(env, key), nullptr;
      vec->push_back(h->keep(arr.Get(i).As<Napi::String>().Utf8Value()));
    }
  }

  if (!GetArray(env, o, "sysctls", &arr)) return nullptr;
  for (uint32_t i = 0; i < arr.Length(); i++) {
    Napi::Object sc = arr.Get(i).As<Napi::Object>();
    std::string path, value;
    if (!GetString(env, sc, "path", &path) || !GetString(env, sc, "value", &value)) return nullptr;
    h->sysctls.push_back({h->keep(path), h->keep(value)});
  }

  s.clear();
  if (!GetString(env, o, "hostname", &s, true)) return nullptr;
  p.hostname = o.Get("hostname").IsString() ? h->keep(s) : nullptr;
  s.clear();
  if (!GetString(env, o, "domainname", &s, true)) return nullptr;
  p.domainname = o.Get("domainname").IsString() ? h->keep(s) : nullptr;
  if (!GetInt(env, o, "loopbackUp", &n)) return nullptr;
  p.loopback_up = (int)n;

  for (auto [key, vec] : {std::pair<const char*, std::vector<char*>*>{"args", &h->argv}, {"env", &h->envp}}) {
    if (!GetArray(env, o, key, &arr)) return nullptr;
    for (uint32_t i = 0; i < arr.Length(); i++) {
      if (!arr.Get(i).IsString()) return Fail(env, key), nullptr;
      vec->push_back(const_cast<char*>(h->keep(arr.Get(i).As<Napi::String>().Utf8Value())));
    }
    vec->push_back(nullptr);
  }
  if (h->argv.size() < 2) return Fail(env, "args"), nullptr;
  if (!GetString(env, o, "pathEnv", &s)) return nullptr;
  p.path_env = h->keep(s);
  s.clear();
  if (!GetString(env, o, "cwd", &s, true)) return nullptr;
  p.cwd = s.empty() ? nullptr : h->keep(s);

  int64_t uid, gid, umask, setGroups, setCaps, capLast, nnp;
  if (!GetInt(env, o, "uid", &uid) || !GetInt(env, o, "gid", &gid) || !GetInt(env, o, "umask", &umask) ||
      !GetInt(env, o, "setGroups", &setGroups) || !GetInt(env, o, "setCaps", &setCaps) ||
      !GetInt(env, o, "capLast", &capLast) || !GetInt(env, o, "noNewPrivs", &nnp))
    return nullptr;
  p.uid = (uid_t)uid;
  p.gid = (gid_t)gid;
  p.umask = (int)umask;
  p.set_groups = (int)setGroups;
  p.set_caps = (int)setCaps;
  p.cap_last = (int)capLast;
  p.no_new_privs = (int)nnp;
  if (!GetArray(env, o, "groups", &arr)) return nullptr;
  for (uint32_t i = 0; i < arr.Length(); i++) h->groups.push_back((gid_t)arr.Get(i).As<Napi::Number>().Int64Value());
  if (!GetArray(env, o, "caps", &arr)) return nullptr;
  if (p.set_caps && arr.Length() != CAP_SET_COUNT) return Fail(env, "caps"), nullptr;
  for (uint32_t i = 0; i < arr.Length() && i < CAP_SET_COUNT; i++)
    if (!GetU64(env, arr.Get(i), "caps", &p.caps[i])) return nullptr;

  if (!GetArray(env, o, "rlimits", &arr)) return nullptr;
  for (uint32_t i = 0; i < arr.Length(); i++) {
    Napi::Object r = arr.Get(i).As<Napi::Object>();
    int64_t res;
    RlimitSpec rl{};
    if (!GetInt(env, r, "resource", &res) || !GetU64(env, r.Get("soft"), "soft", &rl.soft) ||
        !GetU64(env, r.Get("hard"), "hard", &rl.hard))
      return nullptr;
    rl.resource = (int)res;
    h->rlimits.push_back(rl);
  }
  p.ioprio = o.Get("ioPriority").IsNumber() ? o.Get("ioPriority").As<Napi::Number>().Int32Value() : -1;
  p.has_oom_score_adj = o.Get("oomScoreAdj").IsNumber();
  if (p.has_oom_score_adj) p.oom_score_adj = o.Get("oomScoreAdj").As<Napi::Number>().Int32Value();

  int64_t term, cw, ch;
  if (!GetInt(env, o, "terminal", &term) || !GetInt(env, o, "consoleWidth", &cw) || !GetInt(env, o, "consoleHeight", &ch))
    return nullptr;
  p.terminal = (int)term;
  p.console_width = (unsigned short)cw;
  p.console_height = (unsigned short)ch;
  if (!GetArray(env, o, "fds", &arr)) return nullptr;
  if (arr.Length() > 64) return Fail(env, "fds"), nullptr;
  for (uint32_t i = 0; i < arr.Length(); i++) h->fds.push_back(arr.Get(i).As<Napi::Number>().Int32Value());
  if (!GetInt(env, o, "parentDeathSignal", &n)) return nullptr;
  p.parent_death_signal = (int)n;

  h->finalize();
  return h;
}

}  // namespace berth
