// Starting, stopping and freeing a uv_poll_t, shared by FdWatch and
// PipeCollector: the handle is freed only in uv_close's callback, and its data
// is cleared first so a callback already queued for this loop turn finds no owner.
#pragma once
#include <uv.h>

namespace berth {

inline void ClosePoll(uv_poll_t** poll) {
  if (!*poll) return;
  uv_poll_stop(*poll);
  (*poll)->data = nullptr;
  uv_close(reinterpret_cast<uv_handle_t*>(*poll), [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
  *poll = nullptr;
}

// *poll watches fd for events, calling cb with handle->data = data; on failure
// (a libuv error code is returned) *poll is null and nothing is left to free.
inline int OpenPoll(uv_loop_t* loop, int fd, int events, uv_poll_cb cb, void* data, uv_poll_t** poll) {
  *poll = new uv_poll_t;
  (*poll)->data = data;
  int rc = uv_poll_init(loop, *poll, fd);
  if (rc != 0) {
    delete *poll;  // never initialized: nothing for uv_close to do
    *poll = nullptr;
    return rc;
  }
  rc = uv_poll_start(*poll, events, cb);
  if (rc != 0) ClosePoll(poll);
  return rc;
}

}  // namespace berth
