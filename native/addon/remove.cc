// removePaths([{ path, dir, busyMs }]) -> Promise<number[]> (0 or errno each):
// a batch of unlink/rmdir done in ONE thread-pool job, in order. destroy()
// removes a cgroup directory per hierarchy, berth's shared parents and the state
// directory; one round trip instead of one per path. A directory still busy
// (EBUSY: its last processes are exiting) is retried for up to busyMs.
#include <errno.h>
#include <time.h>
#include <unistd.h>

#include <string>
#include <vector>

#include <napi.h>

namespace berth {

namespace {

struct Item {
  std::string path;
  bool dir;
  int busy_ms;
  int err = 0;
};

class RemoveWorker : public Napi::AsyncWorker {
 public:
  RemoveWorker(Napi::Env env, std::vector<Item> items)
      : Napi::AsyncWorker(env, "berth.removePaths"), deferred_(Napi::Promise::Deferred::New(env)), items_(std::move(items)) {}

  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    for (Item& it : items_) {
      for (int waited = 0;; waited++) {
        int rc = it.dir ? rmdir(it.path.c_str()) : unlink(it.path.c_str());
        it.err = rc == 0 ? 0 : errno;
        if (it.err != EBUSY || waited >= it.busy_ms) break;
        struct timespec ms = {0, 1000000};
        nanosleep(&ms, nullptr);
      }
    }
  }

  void OnOK() override {
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    Napi::Array out = Napi::Array::New(env, items_.size());
    for (size_t i = 0; i < items_.size(); i++) out.Set((uint32_t)i, items_[i].err);
    deferred_.Resolve(out);
  }

 private:
  Napi::Promise::Deferred deferred_;
  std::vector<Item> items_;
};

}  // namespace

Napi::Value RemovePaths(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsArray()) {
    Napi::TypeError::New(env, "removePaths(items): items must be an array").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Array arr = info[0].As<Napi::Array>();
  std::vector<Item> items;
  for (uint32_t i = 0; i < arr.Length(); i++) {
    Napi::Object o = arr.Get(i).As<Napi::Object>();
    Item it;
    it.path = o.Get("path").As<Napi::String>().Utf8Value();
    it.dir = o.Get("dir").ToBoolean().Value();
    it.busy_ms = o.Get("busyMs").IsNumber() ? o.Get("busyMs").As<Napi::Number>().Int32Value() : 0;
    items.push_back(std::move(it));
  }
  auto* worker = new RemoveWorker(env, std::move(items));
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

}  // namespace berth
