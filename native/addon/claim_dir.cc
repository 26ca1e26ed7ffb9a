// claimDir(tmp, dest, files: [name, data][]) -> Promise<{ errno, syscall, path }>
// (errno 0 on success): the state directory's claim in ONE thread-pool job —
// mkdir the prepared directory, write its first files, rename it onto dest.
// As separate fs calls these were four round trips to the thread pool on every
// create (~1 ms of the spawn mark here). The rename is the lock (rename(2)
// replaces only an empty directory), so a failure anywhere removes what this
// job made and dest is never touched.
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <utility>
#include <vector>

#include <napi.h>

namespace berth {

namespace {

class ClaimWorker : public Napi::AsyncWorker {
 public:
  ClaimWorker(Napi::Env env, std::string tmp, std::string dest, std::vector<std::pair<std::string, std::string>> files)
      : Napi::AsyncWorker(env, "berth.claimDir"),
        deferred_(Napi::Promise::Deferred::New(env)),
        tmp_(std::move(tmp)),
        dest_(std::move(dest)),
        files_(std::move(files)) {}

  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    if (mkdir(tmp_.c_str(), 0700) < 0) return Fail("mkdir", tmp_);
    size_t written = 0;
    for (const auto& [name, data] : files_) {
      std::string file = tmp_ + "/" + name;
      int fd = open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
      if (fd < 0) return Undo(written, "open", file);
      written++;
      int err = WriteAll(fd, data);
      if (close(fd) < 0 && !err) err = errno;
      if (err) {
        errno = err;
        return Undo(written, "write", file);
      }
    }
    if (rename(tmp_.c_str(), dest_.c_str()) < 0) return Undo(written, "rename", dest_);
  }

  void OnOK() override {
    Napi::Env env = Env();
    Napi::Object out = Napi::Object::New(env);
    out.Set("errno", err_);
    if (err_) {
      out.Set("syscall", syscall_);
      out.Set("path", path_);
    }
    deferred_.Resolve(out);
  }

 private:
  static int WriteAll(int fd, const std::string& data) {
    for (size_t off = 0; off < data.size();) {
      ssize_t n = write(fd, data.data() + off, data.size() - off);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return n < 0 ? errno : EIO;
      off += static_cast<size_t>(n);
    }
    return 0;
  }

  void Fail(const char* syscall, const std::string& path) {
    err_ = errno;
    syscall_ = syscall;
    path_ = path;
  }

  // Removes the files written so far and the prepared directory, keeping the first error.
  void Undo(size_t written, const char* syscall, const std::string& path) {
    Fail(syscall, path);
    for (size_t i = 0; i < written; i++) unlink((tmp_ + "/" + files_[i].first).c_str());
    rmdir(tmp_.c_str());
  }

  Napi::Promise::Deferred deferred_;
  std::string tmp_, dest_;
  std::vector<std::pair<std::string, std::string>> files_;
  int err_ = 0;
  std::string syscall_, path_;
};

}  // namespace

Napi::Value ClaimDir(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString() || !info[1].IsString() || !info[2].IsArray()) {
    Napi::TypeError::New(env, "claimDir(tmp, dest, files)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Array list = info[2].As<Napi::Array>();
  std::vector<std::pair<std::string, std::string>> files;
  for (uint32_t i = 0; i < list.Length(); i++) {
    Napi::Value entry = list.Get(i);
    if (!entry.IsArray()) {
      Napi::TypeError::New(env, "claimDir: each file is [name, data]").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    Napi::Array pair = entry.As<Napi::Array>();
    if (!pair.Get(0u).IsString() || !pair.Get(1u).IsString()) {
      Napi::TypeError::New(env, "claimDir: each file is [name, data]").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    files.emplace_back(pair.Get(0u).As<Napi::String>().Utf8Value(), pair.Get(1u).As<Napi::String>().Utf8Value());
  }
  auto* w = new ClaimWorker(env, info[0].As<Napi::String>().Utf8Value(), info[1].As<Napi::String>().Utf8Value(), std::move(files));
  Napi::Promise promise = w->Promise();
  w->Queue();
  return promise;
}

}  // namespace berth
