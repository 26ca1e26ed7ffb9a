// Running one piece of work inside another network namespace on a
// short-lived thread of its own (netns.cc says why): shared by the rtnetlink
// sockets and sysctls (netns.cc) and the nftables batches (nftables.cc).
#pragma once
#include <stddef.h>

namespace berth {

/**
 * Runs fn(arg) on a new thread (all signals blocked, `stack` bytes of stack)
 * that first setns()es into the network namespace of nsfd, and waits for it;
 * nsfd < 0 runs fn right here, in the caller's namespace. Returns fn's result
 * (0 or an errno), or the errno of the setns/pthread_create that kept fn
 * from running, with *syscall set to its name (left alone otherwise).
 */
int RunInNetns(int nsfd, size_t stack, int (*fn)(void*), void* arg, const char** syscall);

}  // namespace berth
