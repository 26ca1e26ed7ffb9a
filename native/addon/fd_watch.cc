// FdWatch: calls back on the event loop when an fd becomes readable (uv_poll),
// so waiting for the child's sync messages or its exit (pidfd) never blocks.
#include <napi.h>
#include <uv.h>

#include "uv_poll.h"

namespace berth {

class FdWatch : public Napi::ObjectWrap<FdWatch> {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "FdWatch",
                       {InstanceMethod("stop", &FdWatch::Stop), InstanceMethod("ref", &FdWatch::RefHandle),
                        InstanceMethod("unref", &FdWatch::UnrefHandle)});
  }

  // new FdWatch(fd, callback)
  FdWatch(const Napi::CallbackInfo& info) : Napi::ObjectWrap<FdWatch>(info), ctx_(info.Env(), "berth.FdWatch") {
    Napi::Env env = info.Env();
    int fd = info[0].As<Napi::Number>().Int32Value();
    callback_ = Napi::Persistent(info[1].As<Napi::Function>());
    uv_loop_t* loop = nullptr;
    napi_get_uv_event_loop(env, &loop);
    int rc = OpenPoll(loop, fd, UV_READABLE, OnReadable, this, &poll_);
    if (rc != 0) {
      Napi::Error::New(env, std::string("uv_poll: ") + uv_strerror(rc)).ThrowAsJavaScriptException();
      return;
    }
    Ref();  // alive while watching, even if JS drops it
  }

  ~FdWatch() override { StopPoll(); }

 private:
  static void OnReadable(uv_poll_t* handle, int status, int events) {
    FdWatch* self = static_cast<FdWatch*>(handle->data);
    Napi::Env env = self->Env();
    Napi::HandleScope scope(env);
    self->callback_.MakeCallback(self->Value(), {Napi::Number::New(env, status), Napi::Number::New(env, events)},
                                 self->ctx_);
  }

  void StopPoll() { ClosePoll(&poll_); }

  Napi::Value Stop(const Napi::CallbackInfo& info) {
    if (poll_) {
      StopPoll();
      Unref();
    }
    return info.Env().Undefined();
  }

  Napi::Value RefHandle(const Napi::CallbackInfo& info) {
    if (poll_) uv_ref(reinterpret_cast<uv_handle_t*>(poll_));
    return info.Env().Undefined();
  }

  Napi::Value UnrefHandle(const Napi::CallbackInfo& info) {
    if (poll_) uv_unref(reinterpret_cast<uv_handle_t*>(poll_));
    return info.Env().Undefined();
  }

  uv_poll_t* poll_ = nullptr;
  Napi::FunctionReference callback_;
  Napi::AsyncContext ctx_;
};

Napi::Function InitFdWatch(Napi::Env env) { return FdWatch::Init(env); }

}  // namespace berth
