// The sync socket protocol between the parent (Node) and the child.
// A SOCK_SEQPACKET socketpair keeps message boundaries; the child's end is
// CLOEXEC, so EOF after "go" means execve succeeded. The numbers (message
// kinds, steps, syscall ids) come from native/wire/wire.js.
#pragma once
#include <stdint.h>

#include "protocol.gen.h"

namespace berth {

// One message each way, always whole (the addon's recvMessage turns it into
// { kind, step, errno, syscall, detail, value } for lib/launch/channel.ts).
struct Msg {
  uint32_t kind;    // MsgKind
  int32_t step;     // Step
  int32_t err;      // errno
  int32_t syscall;  // SyscallId
  int32_t value;    // MSG_PID: the pid
  char detail[512]; // usually the path
};

}  // namespace berth
