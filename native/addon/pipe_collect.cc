// new PipeCollector(fd, maxBytes, onLimit, callback): reads a pipe to EOF on the
// event loop and calls back once with (errno, the bytes kept, truncated). run()
// uses it for the output it buffers anyway: a net.Socket per pipe costs the
// event loop far more (stream state, a callback per chunk, 'end'/'close' ticks)
// than the read()s.
// Bounded both ways, because the writer is the container: at most maxBytes are
// kept (the rest is read and dropped, so the writer is never blocked on a full
// pipe; onLimit is told once, when the first byte past the cap arrives), and
// one wakeup reads at most kBytesPerWakeup, so a writer as fast as we are
// cannot hold the loop (uv_poll is level-triggered: what is left wakes us again).
// The fd is owned from here on: closed at EOF, on a read error or by stop().
#include <errno.h>
#include <fcntl.h>
#include <napi.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include <cmath>
#include <string>

#include "js_error.h"
#include "uv_poll.h"

namespace berth {

namespace {

constexpr size_t kBytesPerWakeup = 1 << 20;
// Below this a copy into a JS Buffer is cheaper than handing ours over (a finalizer per buffer).
constexpr size_t kCopyBelow = 64 * 1024;

class PipeCollector : public Napi::ObjectWrap<PipeCollector> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "PipeCollector", {InstanceMethod("stop", &PipeCollector::Stop)});
  }

  PipeCollector(const Napi::CallbackInfo& info) : Napi::ObjectWrap<PipeCollector>(info), ctx_(info.Env(), "berth.collectPipe") {
    Napi::Env env = info.Env();
    fd_ = info[0].As<Napi::Number>().Int32Value();
    double max = info[1].As<Napi::Number>().DoubleValue();
    max_ = std::isfinite(max) && max >= 0 && max < (double)SIZE_MAX ? (size_t)max : SIZE_MAX;
    if (info[2].IsFunction()) on_limit_ = Napi::Persistent(info[2].As<Napi::Function>());
    callback_ = Napi::Persistent(info[3].As<Napi::Function>());
    // Non-blocking: a wakeup reads what is there and stops at EAGAIN.
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
    free(data_);
  }

 private:
  static void OnReadable(uv_poll_t* handle, int status, int events) {
    auto* self = static_cast<PipeCollector*>(handle->data);
    if (self) self->Drain();
  }

  void Drain() {
    char buf[65536];
    size_t budget = kBytesPerWakeup;
    int done = -1;  // -1: more later; else the errno to finish with (0 at EOF)
    while (budget > 0) {
      ssize_t n = read(fd_, buf, budget < sizeof buf ? budget : sizeof buf);
      if (n > 0) {
        budget -= (size_t)n;
        if (Keep(buf, (size_t)n) < 0) {
          done = ENOMEM;
          break;
        }
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) break;
      done = n < 0 ? errno : 0;  // EOF (n == 0) or a read error
      break;
    }
    // Told even when EOF came in the same wakeup: the writer's other processes may live on.
    if (truncated_ && !limit_reported_) {
      ReportLimit();
      if (!poll_) return;  // onLimit called stop()
    }
    if (done >= 0) Finish(done);
  }

  // The part of buf that fits under the cap is kept; the rest is dropped.
  int Keep(const char* buf, size_t n) {
    size_t room = max_ - size_;
    size_t k = n < room ? n : room;
    if (k < n) truncated_ = true;
    if (k == 0) return 0;
    if (size_ + k > capacity_) {
      // Doubling, but never past the cap: what we hold stays within maxBytes.
      size_t want = capacity_ ? capacity_ * 2 : kCopyBelow;
      if (want < size_ + k) want = size_ + k;
      if (want > max_) want = max_;
      char* grown = static_cast<char*>(realloc(data_, want));
      if (!grown) return -1;
      data_ = grown;
      capacity_ = want;
    }
    memcpy(data_ + size_, buf, k);
    size_ += k;
    return 0;
  }

  void ReportLimit() {
    limit_reported_ = true;
    if (on_limit_.IsEmpty()) return;
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    on_limit_.MakeCallback(Value(), {}, ctx_);
  }

  void Finish(int err) {
    StopPoll();
    CloseFd();
    Napi::Env env = Env();
    Napi::HandleScope scope(env);
    Napi::Buffer<char> out;
    if (size_ < kCopyBelow) {
      out = Napi::Buffer<char>::Copy(env, data_ ? data_ : "", size_);
      free(data_);
    } else {
      // Handed over, not copied: copying up to maxBytes would hold the loop.
      out = Napi::Buffer<char>::New(env, data_, size_, [](Napi::Env, char* p) { free(p); });
    }
    data_ = nullptr;
    size_ = capacity_ = 0;
    callback_.MakeCallback(Value(), {Napi::Number::New(env, err), out, Napi::Boolean::New(env, truncated_)}, ctx_);
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
  size_t max_ = SIZE_MAX;
  char* data_ = nullptr;
  size_t size_ = 0;
  size_t capacity_ = 0;
  bool truncated_ = false;
  bool limit_reported_ = false;
  Napi::FunctionReference on_limit_;
  Napi::FunctionReference callback_;
  Napi::AsyncContext ctx_;
};

}  // namespace

Napi::Function InitPipeCollector(Napi::Env env) { return PipeCollector::Init(env); }

}  // namespace berth
