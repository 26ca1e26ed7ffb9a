// compileSeccomp(spec) -> Promise<{ program, highest, unknown }>: libseccomp
// turns a resolved profile (lib/seccomp/compile.ts made every number) into a
// BPF program, on a libuv worker thread: Docker's default profile takes it
// tens of ms. lib/seccomp caches the result per distinct profile, so this runs
// once per profile, never once per container, and berth-init only installs
// the bytes.
#include <errno.h>
#include <seccomp.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include <napi.h>
#include <uv.h>

namespace berth {

namespace {

struct Cond {
  unsigned index;
  scmp_compare op;
  uint64_t a, b;
};

struct Rule {
  std::vector<std::string> names;
  uint32_t action;
  std::vector<Cond> conds;
};

struct Spec {
  uint32_t default_action;
  uint32_t bad_arch_action;
  std::vector<std::string> arches;  // the native one first
  bool binary_tree;
  std::vector<Rule> rules;
  uint64_t max_instructions;
};

struct Result {
  std::string program;
  std::vector<int> highest;  // per spec.arches entry
  std::vector<std::string> unknown;
};

// Why a compile failed: errno and the libseccomp call, and which rule / name /
// architecture of the spec it was about (-1: none); or too_large, a lower
// bound of the program's length above spec.max_instructions.
struct Failure {
  int err = 0;
  const char* call = nullptr;
  int rule = -1, name = -1, arch = -1;
  uint64_t too_large = 0;
};

bool ParseOp(const std::string& s, scmp_compare* op) {
  static const std::map<std::string, scmp_compare> ops = {
      {"SCMP_CMP_NE", SCMP_CMP_NE}, {"SCMP_CMP_LT", SCMP_CMP_LT}, {"SCMP_CMP_LE", SCMP_CMP_LE},
      {"SCMP_CMP_EQ", SCMP_CMP_EQ}, {"SCMP_CMP_GE", SCMP_CMP_GE}, {"SCMP_CMP_GT", SCMP_CMP_GT},
      {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
  };
  auto it = ops.find(s);
  if (it == ops.end()) return false;
  *op = it->second;
  return true;
}

// Two conditions on one argument cannot go in one libseccomp rule; like runc,
// each then becomes a rule of its own (so they are OR-ed, not AND-ed).
bool SharesAnArgument(const std::vector<Cond>& conds) {
  unsigned seen = 0;
  for (const Cond& c : conds) {
    if (seen & (1u << c.index)) return true;
    seen |= 1u << c.index;
  }
  return false;
}

// A lower bound of the program's length, known before libseccomp spends
// minutes on a hopeless profile (10,000 argument rules take it about one):
// on the native architecture every distinct first comparison of a syscall's
// conditional rules is an instruction of its own. Syscalls with an
// unconditional rule are left out (libseccomp may fold their conditional
// rules into it), as are rules with the default action (never added).
uint64_t LowerBound(const Spec& s, uint32_t native) {
  std::map<std::string, int> numbers;
  auto number = [&](const std::string& name) {
    auto it = numbers.find(name);
    if (it != numbers.end()) return it->second;
    return numbers[name] = seccomp_syscall_resolve_name_arch(native, name.c_str());
  };
  std::set<int> unconditional;
  for (const Rule& r : s.rules)
    if (r.action != s.default_action && r.conds.empty())
      for (const std::string& n : r.names) unconditional.insert(number(n));
  std::set<std::tuple<int, unsigned, int, uint64_t, uint64_t>> firsts;
  for (const Rule& r : s.rules) {
    if (r.action == s.default_action || r.conds.empty()) continue;
    for (const std::string& n : r.names) {
      int nr = number(n);
      if (nr < 0 || unconditional.count(nr)) continue;
      if (SharesAnArgument(r.conds)) {
        for (const Cond& c : r.conds) firsts.insert({nr, c.index, (int)c.op, c.a, c.b});
        continue;
      }
      const Cond* first = &r.conds[0];
      for (const Cond& c : r.conds)
        if (c.index < first->index) first = &c;
      firsts.insert({nr, first->index, (int)first->op, first->a, first->b});
    }
  }
  return firsts.size();
}

int AddRule(scmp_filter_ctx ctx, const Rule& r, int nr) {
  std::vector<scmp_arg_cmp> conds;
  for (const Cond& c : r.conds) conds.push_back({c.index, c.op, c.a, c.b});
  if (!SharesAnArgument(r.conds)) return seccomp_rule_add_array(ctx, r.action, nr, (unsigned)conds.size(), conds.data());
  for (const scmp_arg_cmp& c : conds) {
    int rc = seccomp_rule_add_array(ctx, r.action, nr, 1, &c);
    if (rc < 0) return rc;
  }
  return 0;
}

// libseccomp writes the program to an fd: a memfd, read back whole (a pipe
// would fill up before export returned).
bool Export(scmp_filter_ctx ctx, std::string* out, Failure* f) {
  int fd = memfd_create("berth-seccomp", MFD_CLOEXEC);
  if (fd < 0) return f->err = errno, f->call = "memfd_create", false;
  int rc = seccomp_export_bpf(ctx, fd);
  if (rc < 0) {
    close(fd);
    return f->err = -rc, f->call = "seccomp_export_bpf", false;
  }
  off_t size = lseek(fd, 0, SEEK_END);
  out->resize(size > 0 ? (size_t)size : 0);
  size_t done = 0;
  while (done < out->size()) {
    ssize_t n = pread(fd, &(*out)[done], out->size() - done, (off_t)done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      f->err = n < 0 ? errno : EIO;
      f->call = "pread";
      close(fd);
      return false;
    }
    done += (size_t)n;
  }
  close(fd);
  return true;
}

void Compile(const Spec& s, Result* out, Failure* f) {
  scmp_filter_ctx ctx = seccomp_init(s.default_action);
  if (!ctx) {
    f->err = EINVAL;
    f->call = "seccomp_init";
    return;
  }
  struct Release {
    scmp_filter_ctx ctx;
    ~Release() { seccomp_release(ctx); }
  } release{ctx};
  // berth-init loads the exported program itself: libseccomp's own no_new_privs
  // and TSYNC (berth-init has one thread) never apply; the bad-arch action does.
  int rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, s.bad_arch_action);
  if (rc == 0) rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
  if (rc == 0) rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 0);
  if (rc == 0 && s.binary_tree) rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
  if (rc < 0) {
    f->err = -rc;
    f->call = "seccomp_attr_set";
    return;
  }
  std::vector<uint32_t> tokens;
  for (size_t i = 0; i < s.arches.size(); i++) {
    uint32_t token = seccomp_arch_resolve_name(s.arches[i].c_str());
    rc = token ? seccomp_arch_add(ctx, token) : -EINVAL;
    if (rc < 0 && rc != -EEXIST) {
      f->err = -rc;
      f->call = token ? "seccomp_arch_add" : "seccomp_arch_resolve_name";
      f->arch = (int)i;
      return;
    }
    tokens.push_back(token);
  }
  // The highest number any rule names, per architecture (whatever its action):
  // above it, the program's prologue answers ENOSYS (lib/seccomp/prologue.ts).
  out->highest.assign(tokens.size(), -1);
  for (const Rule& r : s.rules)
    for (const std::string& n : r.names)
      for (size_t t = 0; t < tokens.size(); t++) {
        int nr = seccomp_syscall_resolve_name_arch(tokens[t], n.c_str());
        if (nr > out->highest[t]) out->highest[t] = nr;
      }
  uint64_t bound = LowerBound(s, seccomp_arch_native());
  if (bound > s.max_instructions) {
    f->too_large = bound;
    return;
  }
  std::set<std::string> unknown;
  for (size_t i = 0; i < s.rules.size(); i++) {
    const Rule& r = s.rules[i];
    // libseccomp refuses a rule that repeats the default action; it changes nothing.
    if (r.action == s.default_action) continue;
    for (size_t j = 0; j < r.names.size(); j++) {
      // A name libseccomp knows on no architecture is skipped, as runc and crun
      // do; one another listed architecture knows resolves to a negative
      // pseudo number that libseccomp places on that architecture only.
      int nr = seccomp_syscall_resolve_name(r.names[j].c_str());
      if (nr == __NR_SCMP_ERROR) {
        unknown.insert(r.names[j]);
        continue;
      }
      rc = AddRule(ctx, r, nr);
      if (rc < 0) {
        f->err = -rc;
        f->call = "seccomp_rule_add";
        f->rule = (int)i;
        f->name = (int)j;
        return;
      }
    }
  }
  out->unknown.assign(unknown.begin(), unknown.end());
  Export(ctx, &out->program, f);
}

class CompileWorker : public Napi::AsyncWorker {
 public:
  CompileWorker(Napi::Env env, Spec spec)
      : Napi::AsyncWorker(env, "berth.compileSeccomp"), deferred_(Napi::Promise::Deferred::New(env)), spec_(std::move(spec)) {}

  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override { Compile(spec_, &result_, &failure_); }

  void OnOK() override {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    if (failure_.too_large) {
      Napi::Error e = Napi::Error::New(env, "the seccomp program would exceed its instruction limit");
      e.Set("tooLarge", Napi::Number::New(env, (double)failure_.too_large));
      deferred_.Reject(e.Value());
      return;
    }
    if (failure_.err) {
      std::string msg = std::string(failure_.call) + " failed: " + strerror(failure_.err);
      Napi::Error e = Napi::Error::New(env, msg);
      e.Set("code", Napi::String::New(env, uv_err_name(-failure_.err)));
      e.Set("errno", Napi::Number::New(env, failure_.err));
      e.Set("syscall", Napi::String::New(env, failure_.call));
      if (failure_.rule >= 0) e.Set("rule", Napi::Number::New(env, failure_.rule));
      if (failure_.name >= 0) e.Set("name", Napi::Number::New(env, failure_.name));
      if (failure_.arch >= 0) e.Set("arch", Napi::Number::New(env, failure_.arch));
      deferred_.Reject(e.Value());
      return;
    }
    Napi::Object o = Napi::Object::New(env);
    o.Set("program", Napi::Buffer<char>::Copy(env, result_.program.data(), result_.program.size()));
    Napi::Array highest = Napi::Array::New(env, result_.highest.size());
    for (size_t i = 0; i < result_.highest.size(); i++) highest.Set((uint32_t)i, result_.highest[i]);
    o.Set("highest", highest);
    Napi::Array unknown = Napi::Array::New(env, result_.unknown.size());
    for (size_t i = 0; i < result_.unknown.size(); i++) unknown.Set((uint32_t)i, result_.unknown[i]);
    o.Set("unknown", unknown);
    deferred_.Resolve(o);
  }

 private:
  Napi::Promise::Deferred deferred_;
  Spec spec_;
  Result result_;
  Failure failure_;
};

uint64_t Uint64(Napi::Value v) {
  if (v.IsBigInt()) {
    bool lossless;
    return v.As<Napi::BigInt>().Uint64Value(&lossless);
  }
  return (uint64_t)v.As<Napi::Number>().Int64Value();
}

// Reads the spec on the event loop (N-API is not for worker threads); lib/
// has validated it, so a wrong shape here is a bug: a TypeError says so.
bool ReadSpec(Napi::Env env, Napi::Object o, Spec* s) {
  auto fail = [&](const char* what) {
    Napi::TypeError::New(env, std::string("compileSeccomp: ") + what).ThrowAsJavaScriptException();
    return false;
  };
  if (!o.Get("defaultAction").IsNumber() || !o.Get("badArchAction").IsNumber() || !o.Get("arches").IsArray() || !o.Get("rules").IsArray())
    return fail("spec must have defaultAction, badArchAction, arches and rules");
  s->default_action = o.Get("defaultAction").As<Napi::Number>().Uint32Value();
  s->bad_arch_action = o.Get("badArchAction").As<Napi::Number>().Uint32Value();
  s->binary_tree = o.Get("binaryTree").ToBoolean().Value();
  s->max_instructions = o.Get("maxInstructions").IsNumber() ? (uint64_t)o.Get("maxInstructions").As<Napi::Number>().Int64Value() : ~0ULL;
  Napi::Array arches = o.Get("arches").As<Napi::Array>();
  for (uint32_t i = 0; i < arches.Length(); i++) s->arches.push_back(arches.Get(i).ToString().Utf8Value());
  Napi::Array rules = o.Get("rules").As<Napi::Array>();
  for (uint32_t i = 0; i < rules.Length(); i++) {
    Napi::Object r = rules.Get(i).As<Napi::Object>();
    Rule rule;
    rule.action = r.Get("action").As<Napi::Number>().Uint32Value();
    Napi::Array names = r.Get("names").As<Napi::Array>();
    for (uint32_t j = 0; j < names.Length(); j++) rule.names.push_back(names.Get(j).ToString().Utf8Value());
    Napi::Array args = r.Get("args").As<Napi::Array>();
    for (uint32_t j = 0; j < args.Length(); j++) {
      Napi::Object a = args.Get(j).As<Napi::Object>();
      Cond c;
      c.index = a.Get("index").As<Napi::Number>().Uint32Value();
      if (c.index > 5) return fail("an argument index is above 5");
      if (!ParseOp(a.Get("op").ToString().Utf8Value(), &c.op)) return fail("unknown comparison operator");
      c.a = Uint64(a.Get("value"));
      c.b = Uint64(a.Get("valueTwo"));
      rule.conds.push_back(c);
    }
    s->rules.push_back(std::move(rule));
  }
  return true;
}

}  // namespace

Napi::Value CompileSeccomp(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsObject()) {
    Napi::TypeError::New(env, "compileSeccomp(spec): spec must be an object").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Spec spec;
  if (!ReadSpec(env, info[0].As<Napi::Object>(), &spec)) return env.Undefined();
  auto* worker = new CompileWorker(env, std::move(spec));
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

}  // namespace berth
