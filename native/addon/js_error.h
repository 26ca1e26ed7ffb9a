// A JS Error carrying what the kernel said: code (EACCES), errno (number), syscall.
#pragma once
#include <napi.h>
#include <string.h>
#include <uv.h>

namespace berth {

inline Napi::Value ThrowErrno(Napi::Env env, int err, const char* syscall, const char* path = nullptr) {
  std::string msg = std::string(syscall) + " failed: " + strerror(err);
  if (path) msg += std::string(" (") + path + ")";
  Napi::Error e = Napi::Error::New(env, msg);
  e.Set("code", Napi::String::New(env, uv_err_name(-err)));
  e.Set("errno", Napi::Number::New(env, err));
  e.Set("syscall", Napi::String::New(env, syscall));
  if (path) e.Set("path", Napi::String::New(env, path));
  e.ThrowAsJavaScriptException();
  return env.Undefined();
}

}  // namespace berth
