// writeFileAtomic(path, data, mode) -> Promise<number> (0 or errno): writes
// data to "<path>.<pid>.tmp" and renames it over path, in ONE thread-pool job
// (fs.writeFile + rename would be four round trips). Used for state.json on
// every create: the event loop only hands the bytes over.
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <string>

#include <napi.h>

namespace berth {

namespace {

class WriteFileWorker : public Napi::AsyncWorker {
 public:
  WriteFileWorker(Napi::Env env, std::string path, std::string data, int mode)
      : Napi::AsyncWorker(env, "berth.writeFileAtomic"),
        deferred_(Napi::Promise::Deferred::New(env)),
        path_(std::move(path)),
        data_(std::move(data)),
        mode_(mode) {}

  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    std::string tmp = path_ + "." + std::to_string(getpid()) + ".tmp";
    int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode_);
    if (fd < 0) {
      err_ = errno;
      return;
    }
    for (size_t off = 0; off < data_.size();) {
      ssize_t n = write(fd, data_.data() + off, data_.size() - off);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        err_ = n < 0 ? errno : EIO;
        break;
      }
      off += (size_t)n;
    }
    if (close(fd) < 0 && !err_) err_ = errno;
    if (!err_ && rename(tmp.c_str(), path_.c_str()) < 0) err_ = errno;
    if (err_) unlink(tmp.c_str());
  }

  void OnOK() override { deferred_.Resolve(Napi::Number::New(Env(), err_)); }

 private:
  Napi::Promise::Deferred deferred_;
  std::string path_, data_;
  int mode_;
  int err_ = 0;
};

}  // namespace

Napi::Value WriteFileAtomic(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString() || !info[1].IsString() || !info[2].IsNumber()) {
    Napi::TypeError::New(env, "writeFileAtomic(path, data, mode)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  auto* w = new WriteFileWorker(env, info[0].As<Napi::String>().Utf8Value(), info[1].As<Napi::String>().Utf8Value(),
                                info[2].As<Napi::Number>().Int32Value());
  Napi::Promise promise = w->Promise();
  w->Queue();
  return promise;
}

}  // namespace berth
