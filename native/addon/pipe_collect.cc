// collectPipe(fd, callback): reads a pipe to EOF on the event loop and calls
// back once with everything it carried, as one Buffer. run() uses it for the
// output it buffers anyway: a net.Socket per pipe costs the event loop far more
// (stream state, a callback per chunk, 'end'/'close' ticks) than the read()s.
// The fd is owned from here on: closed at EOF, on a read error or by stop().
#include <errno.h>
#include <fcntl.h>
#include <napi.h>
#include <unistd.h>
#include <uv.h>

#include <string>

#include "js_error.h"
#include "uv_poll.h"

namespace berth {

namespace {

class PipeCollector : public Napi::ObjectWrap<PipeCollector> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "PipeCollector", {InstanceMethod("stop", &PipeCollector::Stop)});
  }

  // new PipeCollector(fd, callback(errno, buffer))
  PipeCollector(const Napi::CallbackInfo& info) : Napi::ObjectWrap<PipeCollector>(info), ctx_(info.Env(), "berth.collectPipe") {
    Napi::Env env = info.Env();
    fd_ = info[0].As<Napi::Number>().Int32Value();
    callback_ = Napi::Persistent(info[1].As<Napi::Function>());
    // Non-blocking: one wakeup drains what is there and stops at EAGAIN.
    int flags = fcntl(fd_, F_GETFL);
    if (flags < 0 || fcntl(fd_, F_SETFL, flags | O_NONBLOCK) < 0) {
      int err = errno;
      CloseFd();
      ThrowErrno(env, err, "fcntl");
      return;
    }
    uv_loop_t* loop = nullptr;
    napi_get_uv_event_loop(env, &loop);
    int rc = OpenPoll(loop, fd_, UV_READABLE | UV_DISCONNECT, OnReadable, this, &poll_);
    if (rc != 0) {
      CloseFd();
      Napi::Error::New(env, std::string("uv_poll: ") + uv_strerror(rc)).ThrowAsJavaScriptException();
      return;
    }
    Ref();  // alive until EOF or stop(), even if JS drops it
  }

  ~PipeCollector() override {
    StopPoll();
    CloseFd();
  }

 private:
  static void OnReadable(uv_poll_t* handle, int status, int events) {
    auto* self = static_cast<PipeCollector*>(handle->data);
    if (self) self->Drain();
  }

  void Drain() {
    char buf[65536];
    int err = 0;
    for (;;) {
      ssize_t n = read(fd_, buf, sizeof buf);
      if (n > 0) {
        data_.append(buf, (size_t)n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) return;  // more later
      if (n < 0) err = errno;
      break;  // EOF (n == 0) or a read error
    }
    Finish(err);
  }

  void Finish(int err) {
    StopPoll();
    CloseFd();
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    Napi::Buffer<char> out = Napi::Buffer<char>::Copy(env, data_.data(), data_.size());
    std::string().swap(data_);
    callback_.MakeCallback(Value(), {Napi::Number::New(env, err), out}, ctx_);
    Unref();
  }

  void StopPoll() { ClosePoll(&poll_); }

  void CloseFd() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

  // Gives up on the pipe: no callback, the fd is closed.
  Napi::Value Stop(const Napi::CallbackInfo& info) {
    if (poll_) {
      StopPoll();
      CloseFd();
      Unref();
    }
    return info.Env().Undefined();
  }

  int fd_ = -1;
  uv_poll_t* poll_ = nullptr;
  std::string data_;
  Napi::FunctionReference callback_;
  Napi::AsyncContext ctx_;
};

}  // namespace

Napi::Function InitPipeCollector(Napi::Env env) { return PipeCollector::Init(env); }

}  // namespace berth
