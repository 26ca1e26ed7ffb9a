// Module entry: the thin native layer under lib/. Everything policy-like
// (defaults, validation, state, cgroups) lives in TypeScript.
#include <napi.h>

namespace berth {
Napi::Value Spawn(const Napi::CallbackInfo&);
Napi::Value Pipe(const Napi::CallbackInfo&);
Napi::Value Close(const Napi::CallbackInfo&);
Napi::Value RecvMessage(const Napi::CallbackInfo&);
Napi::Value SendMessage(const Napi::CallbackInfo&);
Napi::Value Reap(const Napi::CallbackInfo&);
Napi::Value PidfdSignal(const Napi::CallbackInfo&);
Napi::Value EventFd(const Napi::CallbackInfo&);
Napi::Value PidfdOpen(const Napi::CallbackInfo&);
Napi::Value SetWindowSize(const Napi::CallbackInfo&);
Napi::Value ListenUnix(const Napi::CallbackInfo&);
Napi::Value ConnectUnix(const Napi::CallbackInfo&);
Napi::Value SendFdNamed(const Napi::CallbackInfo&);
Napi::Value SetChildSubreaper(const Napi::CallbackInfo&);
Napi::Value ReadEventFd(const Napi::CallbackInfo&);
Napi::Function InitFdWatch(Napi::Env);
Napi::Function InitPipeCollector(Napi::Env);
int InitProgramFd();
Napi::Value RemovePaths(const Napi::CallbackInfo&);
Napi::Value WriteFileAtomic(const Napi::CallbackInfo&);
Napi::Value ClaimDir(const Napi::CallbackInfo&);
Napi::Value DecodePlanToJs(const Napi::CallbackInfo&);
Napi::Value LoadDeviceProgram(const Napi::CallbackInfo&);
Napi::Value AttachDeviceProgram(const Napi::CallbackInfo&);
Napi::Value DetachDeviceProgram(const Napi::CallbackInfo&);
Napi::Value QueryDevicePrograms(const Napi::CallbackInfo&);
Napi::Value CompileSeccomp(const Napi::CallbackInfo&);
Napi::Value NotifRecv(const Napi::CallbackInfo&);
Napi::Value NotifSend(const Napi::CallbackInfo&);
Napi::Value NotifIdValid(const Napi::CallbackInfo&);
Napi::Value ResolveSyscall(const Napi::CallbackInfo&);
Napi::Value SendListener(const Napi::CallbackInfo&);
Napi::Value RecvWithFds(const Napi::CallbackInfo&);
Napi::Value Mknod(const Napi::CallbackInfo&);
Napi::Value Lsetxattr(const Napi::CallbackInfo&);
Napi::Value OpenInRoot(const Napi::CallbackInfo&);
Napi::Value OverlayMountFd(const Napi::CallbackInfo&);
Napi::Value Lgetxattrs(const Napi::CallbackInfo&);
Napi::Value Prlimit(const Napi::CallbackInfo&);
Napi::Value IdmappedTree(const Napi::CallbackInfo&);
Napi::Value SendFds(const Napi::CallbackInfo&);
Napi::Value TryLock(const Napi::CallbackInfo&);
Napi::Value NetlinkOpen(const Napi::CallbackInfo&);
Napi::Value NetnsSysctl(const Napi::CallbackInfo&);
Napi::Value NetlinkAddLink(const Napi::CallbackInfo&);
Napi::Value NetlinkSetLink(const Napi::CallbackInfo&);
Napi::Value NetlinkDelLink(const Napi::CallbackInfo&);
Napi::Value NetlinkGetLinks(const Napi::CallbackInfo&);
Napi::Value NetlinkAddAddress(const Napi::CallbackInfo&);
Napi::Value NetlinkAddRoute(const Napi::CallbackInfo&);
Napi::Value NetlinkSetBridgePort(const Napi::CallbackInfo&);
Napi::Value NetnsBindPort(const Napi::CallbackInfo&);
Napi::Value NftRun(const Napi::CallbackInfo&);
Napi::Value NftLibrary(const Napi::CallbackInfo&);
}  // namespace berth

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  // The berth-init memfd is made once, now: one fd for the life of the process.
  berth::InitProgramFd();
  exports.Set("spawn", Napi::Function::New(env, berth::Spawn, "spawn"));
  exports.Set("pipe", Napi::Function::New(env, berth::Pipe, "pipe"));
  exports.Set("close", Napi::Function::New(env, berth::Close, "close"));
  exports.Set("recvMessage", Napi::Function::New(env, berth::RecvMessage, "recvMessage"));
  exports.Set("sendMessage", Napi::Function::New(env, berth::SendMessage, "sendMessage"));
  exports.Set("reap", Napi::Function::New(env, berth::Reap, "reap"));
  exports.Set("pidfdSignal", Napi::Function::New(env, berth::PidfdSignal, "pidfdSignal"));
  exports.Set("pidfdOpen", Napi::Function::New(env, berth::PidfdOpen, "pidfdOpen"));
  exports.Set("setWindowSize", Napi::Function::New(env, berth::SetWindowSize, "setWindowSize"));
  exports.Set("eventfd", Napi::Function::New(env, berth::EventFd, "eventfd"));
  exports.Set("readEventFd", Napi::Function::New(env, berth::ReadEventFd, "readEventFd"));
  exports.Set("removePaths", Napi::Function::New(env, berth::RemovePaths, "removePaths"));
  exports.Set("writeFileAtomic", Napi::Function::New(env, berth::WriteFileAtomic, "writeFileAtomic"));
  exports.Set("claimDir", Napi::Function::New(env, berth::ClaimDir, "claimDir"));
  exports.Set("decodePlan", Napi::Function::New(env, berth::DecodePlanToJs, "decodePlan"));
  exports.Set("loadDeviceProgram", Napi::Function::New(env, berth::LoadDeviceProgram, "loadDeviceProgram"));
  exports.Set("attachDeviceProgram", Napi::Function::New(env, berth::AttachDeviceProgram, "attachDeviceProgram"));
  exports.Set("detachDeviceProgram", Napi::Function::New(env, berth::DetachDeviceProgram, "detachDeviceProgram"));
  exports.Set("queryDevicePrograms", Napi::Function::New(env, berth::QueryDevicePrograms, "queryDevicePrograms"));
  exports.Set("compileSeccomp", Napi::Function::New(env, berth::CompileSeccomp, "compileSeccomp"));
  exports.Set("notifRecv", Napi::Function::New(env, berth::NotifRecv, "notifRecv"));
  exports.Set("notifSend", Napi::Function::New(env, berth::NotifSend, "notifSend"));
  exports.Set("notifIdValid", Napi::Function::New(env, berth::NotifIdValid, "notifIdValid"));
  exports.Set("resolveSyscall", Napi::Function::New(env, berth::ResolveSyscall, "resolveSyscall"));
  exports.Set("sendListener", Napi::Function::New(env, berth::SendListener, "sendListener"));
  exports.Set("recvWithFds", Napi::Function::New(env, berth::RecvWithFds, "recvWithFds"));
  exports.Set("mknod", Napi::Function::New(env, berth::Mknod, "mknod"));
  exports.Set("lsetxattr", Napi::Function::New(env, berth::Lsetxattr, "lsetxattr"));
  exports.Set("openInRoot", Napi::Function::New(env, berth::OpenInRoot, "openInRoot"));
  exports.Set("overlayMountFd", Napi::Function::New(env, berth::OverlayMountFd, "overlayMountFd"));
  exports.Set("lgetxattrs", Napi::Function::New(env, berth::Lgetxattrs, "lgetxattrs"));
  exports.Set("prlimit", Napi::Function::New(env, berth::Prlimit, "prlimit"));
  exports.Set("idmappedTree", Napi::Function::New(env, berth::IdmappedTree, "idmappedTree"));
  exports.Set("sendFds", Napi::Function::New(env, berth::SendFds, "sendFds"));
  exports.Set("listenUnix", Napi::Function::New(env, berth::ListenUnix, "listenUnix"));
  exports.Set("connectUnix", Napi::Function::New(env, berth::ConnectUnix, "connectUnix"));
  exports.Set("sendFdNamed", Napi::Function::New(env, berth::SendFdNamed, "sendFdNamed"));
  exports.Set("setChildSubreaper", Napi::Function::New(env, berth::SetChildSubreaper, "setChildSubreaper"));
  exports.Set("tryLock", Napi::Function::New(env, berth::TryLock, "tryLock"));
  exports.Set("netlinkOpen", Napi::Function::New(env, berth::NetlinkOpen, "netlinkOpen"));
  exports.Set("netnsSysctl", Napi::Function::New(env, berth::NetnsSysctl, "netnsSysctl"));
  exports.Set("netlinkAddLink", Napi::Function::New(env, berth::NetlinkAddLink, "netlinkAddLink"));
  exports.Set("netlinkSetLink", Napi::Function::New(env, berth::NetlinkSetLink, "netlinkSetLink"));
  exports.Set("netlinkDelLink", Napi::Function::New(env, berth::NetlinkDelLink, "netlinkDelLink"));
  exports.Set("netlinkGetLinks", Napi::Function::New(env, berth::NetlinkGetLinks, "netlinkGetLinks"));
  exports.Set("netlinkAddAddress", Napi::Function::New(env, berth::NetlinkAddAddress, "netlinkAddAddress"));
  exports.Set("netlinkAddRoute", Napi::Function::New(env, berth::NetlinkAddRoute, "netlinkAddRoute"));
  exports.Set("netlinkSetBridgePort", Napi::Function::New(env, berth::NetlinkSetBridgePort, "netlinkSetBridgePort"));
  exports.Set("netnsBindPort", Napi::Function::New(env, berth::NetnsBindPort, "netnsBindPort"));
  exports.Set("nftRun", Napi::Function::New(env, berth::NftRun, "nftRun"));
  exports.Set("nftLibrary", Napi::Function::New(env, berth::NftLibrary, "nftLibrary"));
  exports.Set("FdWatch", berth::InitFdWatch(env));
  exports.Set("PipeCollector", berth::InitPipeCollector(env));
  return exports;
}

NODE_API_MODULE(berth, Init)
