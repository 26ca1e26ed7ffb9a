// nftables from the addon: a batch of nft commands (nft syntax or nft's JSON)
// run through libnftables inside a given network namespace.
//
// - libnftables.so.1 is dlopen()ed at first use, never linked: the addon
//   loads, and every other feature works, on a machine without it; a missing
//   library becomes an Error with code NFTABLES_UNAVAILABLE (lib/ names
//   Debian's libnftables1 package). No header is needed at build time: the
//   few prototypes are declared below (the ABI of libnftables.so.1).
// - The nft context is made, used and freed on one short-lived thread that
//   joined the namespace (RunInNetns, netns.h): libnftables opens its
//   NETLINK_NETFILTER socket in nft_ctx_new(), and its interface cache opens
//   a NETLINK_ROUTE one while a batch runs; a socket belongs to the namespace
//   of the thread that made it. No Node thread ever moves.
// - That thread is started from a libuv worker (an AsyncWorker), so the event
//   loop never waits for the parse, the cache fetch or the kernel's commit.
// - libnftables keeps process-global state (a one-time init without a lock,
//   the interface cache), so batches run one at a time (a mutex).
// - nft_mnl_socket_open() exit()s the process when the netfilter socket
//   cannot be opened (netlink_init_error): the thread opens one first itself,
//   so that failure is an errno here instead (EMFILE, a kernel without
//   nf_tables' netlink).
// A batch is one transaction: the kernel applies all of it or none.
#include <dlfcn.h>
#include <errno.h>
#include <linux/netlink.h>
#include <napi.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <string>

#include "js_error.h"
#include "netns.h"

namespace berth {

namespace {

// libnftables' ABI (nftables/libnftables.h), declared here so building needs no -dev package.
struct nft_ctx;
constexpr uint32_t NFT_CTX_DEFAULT = 0;
constexpr unsigned NFT_CTX_OUTPUT_HANDLE = 1u << 3;
constexpr unsigned NFT_CTX_OUTPUT_JSON = 1u << 4;
constexpr unsigned NFT_CTX_OUTPUT_ECHO = 1u << 5;

struct Lib {
  nft_ctx* (*ctx_new)(uint32_t);
  void (*ctx_free)(nft_ctx*);
  void (*output_set_flags)(nft_ctx*, unsigned);
  int (*buffer_output)(nft_ctx*);
  int (*buffer_error)(nft_ctx*);
  const char* (*get_output_buffer)(nft_ctx*);
  const char* (*get_error_buffer)(nft_ctx*);
  int (*run_cmd_from_buffer)(nft_ctx*, const char*);
};

std::mutex lib_mutex;  // serialises every batch, and the one load
std::string soname = "libnftables.so.1";  // changed only before the load, under lib_mutex
Lib lib;
std::string load_error;  // why the library could not be loaded; written once, before `state` says so
// 0: not tried yet, 1: loaded, 2: cannot be loaded. Read without the lock (nftLibrary on the JS thread).
std::atomic<int> state{0};

/** Loads the library once (lib_mutex held); "" or the reason it cannot be used. */
const std::string& Load() {
  if (state.load() != 0) return load_error;
  struct Publish {
    ~Publish() { state.store(load_error.empty() ? 1 : 2); }
  } publish;
  // RTLD_LOCAL: its symbols (and its dependencies': jansson, gmp, libmnl,
  // libnftnl) do not join the process's global namespace. Never dlclose()d.
  void* h = dlopen(soname.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    const char* e = dlerror();
    load_error = e ? e : (soname + ": cannot be loaded");
    return load_error;
  }
  struct {
    const char* name;
    void** slot;
  } syms[] = {
      {"nft_ctx_new", reinterpret_cast<void**>(&lib.ctx_new)},
      {"nft_ctx_free", reinterpret_cast<void**>(&lib.ctx_free)},
      {"nft_ctx_output_set_flags", reinterpret_cast<void**>(&lib.output_set_flags)},
      {"nft_ctx_buffer_output", reinterpret_cast<void**>(&lib.buffer_output)},
      {"nft_ctx_buffer_error", reinterpret_cast<void**>(&lib.buffer_error)},
      {"nft_ctx_get_output_buffer", reinterpret_cast<void**>(&lib.get_output_buffer)},
      {"nft_ctx_get_error_buffer", reinterpret_cast<void**>(&lib.get_error_buffer)},
      {"nft_run_cmd_from_buffer", reinterpret_cast<void**>(&lib.run_cmd_from_buffer)},
  };
  for (auto& s : syms) {
    *s.slot = dlsym(h, s.name);
    if (!*s.slot) {
      load_error = soname + " has no symbol " + s.name;
      return load_error;
    }
  }
  return load_error;  // ""
}

struct Batch {
  std::string commands;
  unsigned flags = 0;
  // Out.
  int rc = 0;
  std::string output;
  std::string error;
  const char* syscall = nullptr;
};

/** On the thread inside the namespace: 0 (rc/output/error set) or an errno that kept the batch from running. */
int RunBatch(void* p) {
  Batch* b = static_cast<Batch*>(p);
  int probe = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
  if (probe < 0) {
    b->syscall = "socket";
    return errno;
  }
  close(probe);
  nft_ctx* ctx = lib.ctx_new(NFT_CTX_DEFAULT);
  if (!ctx) {
    b->syscall = "nft_ctx_new";
    return ENOMEM;
  }
  lib.output_set_flags(ctx, b->flags);
  lib.buffer_output(ctx);
  lib.buffer_error(ctx);
  b->rc = lib.run_cmd_from_buffer(ctx, b->commands.c_str());
  const char* out = lib.get_output_buffer(ctx);
  const char* err = lib.get_error_buffer(ctx);
  if (out) b->output = out;
  if (err) b->error = err;
  lib.ctx_free(ctx);
  return 0;
}

class NftWorker : public Napi::AsyncWorker {
 public:
  NftWorker(Napi::Env env, int nsfd, Batch batch)
      : Napi::AsyncWorker(env, "berth.nftRun"), deferred_(Napi::Promise::Deferred::New(env)), nsfd_(nsfd), batch_(std::move(batch)) {}

  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    std::lock_guard<std::mutex> hold(lib_mutex);
    unavailable_ = Load();
    if (!unavailable_.empty()) return;
    // 1 MiB of stack: the parser, the evaluator and jansson recurse.
    err_ = RunInNetns(nsfd_, 1024 * 1024, RunBatch, &batch_, &batch_.syscall);
  }

  void OnOK() override {
    Napi::Env env = Env();
    if (!unavailable_.empty()) {
      Napi::Error e = Napi::Error::New(env, unavailable_);
      e.Set("code", Napi::String::New(env, "NFTABLES_UNAVAILABLE"));
      e.Set("library", Napi::String::New(env, soname));  // fixed once the load was tried
      deferred_.Reject(e.Value());
      return;
    }
    if (err_) {
      const char* sc = batch_.syscall ? batch_.syscall : "nft";
      std::string msg = std::string(sc) + " failed: " + strerror(err_);
      if (nsfd_ >= 0) msg += " (netns fd " + std::to_string(nsfd_) + ")";
      Napi::Error e = Napi::Error::New(env, msg);
      e.Set("code", Napi::String::New(env, uv_err_name(-err_)));
      e.Set("errno", Napi::Number::New(env, err_));
      e.Set("syscall", Napi::String::New(env, sc));
      deferred_.Reject(e.Value());
      return;
    }
    Napi::Object out = Napi::Object::New(env);
    out.Set("ok", Napi::Boolean::New(env, batch_.rc == 0));
    out.Set("output", Napi::String::New(env, batch_.output));
    out.Set("error", Napi::String::New(env, batch_.error));
    deferred_.Resolve(out);
  }

 private:
  Napi::Promise::Deferred deferred_;
  int nsfd_;
  Batch batch_;
  int err_ = 0;
  std::string unavailable_;
};

}  // namespace

// nftRun(nsFd, commands, { json, handles, echo }) -> Promise<{ ok, output, error }>:
// the batch run in the namespace of nsFd (-1: the caller's; the fd must stay
// open until the promise settles). `ok` false: nft refused the batch (nothing
// of it was applied) and `error` says why, as nft would print it. Rejects
// (code NFTABLES_UNAVAILABLE) when libnftables cannot be loaded, or with an
// errno when the namespace cannot be joined or a netfilter socket opened.
Napi::Value NftRun(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int nsfd = info[0].As<Napi::Number>().Int32Value();
  Batch batch;
  batch.commands = info[1].As<Napi::String>().Utf8Value();
  if (info.Length() > 2 && info[2].IsObject()) {
    Napi::Object o = info[2].As<Napi::Object>();
    auto flag = [&](const char* key) { return o.Get(key).IsBoolean() && o.Get(key).As<Napi::Boolean>().Value(); };
    if (flag("json")) batch.flags |= NFT_CTX_OUTPUT_JSON;
    if (flag("handles")) batch.flags |= NFT_CTX_OUTPUT_HANDLE;
    if (flag("echo")) batch.flags |= NFT_CTX_OUTPUT_ECHO;
  }
  if (batch.commands.find('\0') != std::string::npos) return ThrowErrno(env, EINVAL, "nft");
  NftWorker* w = new NftWorker(env, nsfd, std::move(batch));
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

// nftLibrary(soname?) -> { soname, loaded, tried, error? }: what became of
// the library. With a name, and only before the first batch tried to load
// it, the file to dlopen instead (tests: a machine without libnftables).
Napi::Value NftLibrary(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  int st;
  {
    // try_lock: never wait on the JS thread for a batch that runs (then the load has happened).
    std::unique_lock<std::mutex> hold(lib_mutex, std::try_to_lock);
    st = state.load();
    if (hold.owns_lock() && st == 0 && info.Length() > 0 && info[0].IsString()) soname = info[0].As<Napi::String>().Utf8Value();
    if (hold.owns_lock() || st != 0) out.Set("soname", Napi::String::New(env, soname));
  }
  out.Set("tried", Napi::Boolean::New(env, st != 0));
  out.Set("loaded", Napi::Boolean::New(env, st == 1));
  if (st == 2) out.Set("error", Napi::String::New(env, load_error));
  return out;
}

}  // namespace berth
