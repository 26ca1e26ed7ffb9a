// rtnetlink requests on a NETLINK_ROUTE socket from netlinkOpen (netns.cc),
// which acts in the namespace it was made in. Each request asks for an ACK
// and waits for it, synchronously: the kernel runs an rtnetlink request
// inside our sendmsg, so the answer is already queued when recv is called
// (microseconds; a thread-pool hop would cost more than the call). A refusal
// throws an Error with code/errno, syscall 'rtnetlink RTM_<TYPE>', ifname,
// and the kernel's own words (extended ack) as kernelMessage when it gave some.
// Addresses come as bytes in network order and interface names are checked
// by lib/network/rtnetlink.ts; this file only speaks the protocol.
#include <errno.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <napi.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <uv.h>

#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include "netlink_msg.h"

namespace berth {

namespace {

// Replies are matched by sequence number; atomic because worker threads may load the addon too.
std::atomic<uint32_t> next_seq{1};

struct NlResult {
  int err = 0;  // errno (positive) or 0
  std::string kernel_message;
};

using OnMessage = std::function<void(const struct nlmsghdr*)>;

/** The extended ack's text (NLMSGERR_ATTR_MSG), if the kernel sent one. */
std::string ExtAck(const struct nlmsghdr* h) {
  if (!(h->nlmsg_flags & NLM_F_ACK_TLVS)) return "";
  const struct nlmsgerr* e = static_cast<const struct nlmsgerr*>(NLMSG_DATA(h));
  // With NETLINK_CAP_ACK (NLM_F_CAPPED) only the request's header is echoed.
  size_t off = NLMSG_HDRLEN + sizeof(int) + ((h->nlmsg_flags & NLM_F_CAPPED) ? NLMSG_HDRLEN : e->msg.nlmsg_len);
  off = NLMSG_ALIGN(off);
  const char* base = reinterpret_cast<const char*>(h);
  while (off + NLA_HDRLEN <= h->nlmsg_len) {
    const struct nlattr* a = reinterpret_cast<const struct nlattr*>(base + off);
    if (a->nla_len < NLA_HDRLEN || off + a->nla_len > h->nlmsg_len) break;
    if ((a->nla_type & NLA_TYPE_MASK) == NLMSGERR_ATTR_MSG && a->nla_len > NLA_HDRLEN) {
      return std::string(base + off + NLA_HDRLEN, strnlen(base + off + NLA_HDRLEN, a->nla_len - NLA_HDRLEN));
    }
    off += NLA_ALIGN(a->nla_len);
  }
  return "";
}

/**
 * Sends the request and reads until its ACK (or, for a dump, NLMSG_DONE),
 * passing every other reply of this request to on_msg. Replies of another
 * sequence number (a request abandoned earlier) are skipped.
 */
NlResult Transact(int fd, NlMsg& m, const OnMessage& on_msg) {
  NlResult r;
  uint32_t seq = next_seq++;
  size_t len;
  const char* req = m.Finish(seq, &len);
  ssize_t n;
  do n = send(fd, req, len, 0);
  while (n < 0 && errno == EINTR);
  if (n < 0) {
    r.err = errno;
    return r;
  }
  // 64 KiB holds any single skb a dump sends (the kernel fills at most 32 KiB).
  std::vector<char> buf(64 * 1024);
  bool interrupted = false;
  for (;;) {
    struct iovec iov = {buf.data(), buf.size()};
    struct msghdr mh = {};
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    do n = recvmsg(fd, &mh, 0);
    while (n < 0 && errno == EINTR);
    if (n < 0) {
      r.err = (errno == EAGAIN || errno == EWOULDBLOCK) ? ETIMEDOUT : errno;
      return r;
    }
    if (mh.msg_flags & MSG_TRUNC) {
      r.err = EMSGSIZE;
      return r;
    }
    int left = (int)n;
    for (const struct nlmsghdr* h = reinterpret_cast<const struct nlmsghdr*>(buf.data()); NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
      if (h->nlmsg_seq != seq) continue;
      if (h->nlmsg_flags & NLM_F_DUMP_INTR) interrupted = true;
      if (h->nlmsg_type == NLMSG_ERROR) {
        const struct nlmsgerr* e = static_cast<const struct nlmsgerr*>(NLMSG_DATA(h));
        r.err = -e->error;  // 0: the ACK
        if (r.err) r.kernel_message = ExtAck(h);
        return r;
      }
      if (h->nlmsg_type == NLMSG_DONE) {
        int status = 0;
        if (h->nlmsg_len >= NLMSG_HDRLEN + sizeof status) memcpy(&status, NLMSG_DATA(h), sizeof status);
        r.err = -status;
        // A dump the kernel saw change under it is inconsistent: say so, the caller may retry.
        if (!r.err && interrupted) r.err = EINTR;
        return r;
      }
      on_msg(h);
    }
  }
}

const OnMessage kIgnore = [](const struct nlmsghdr*) {};

Napi::Value Throw(Napi::Env env, const NlResult& r, const char* syscall, const std::string& ifname, const std::string& extra = "") {
  std::string msg = std::string(syscall) + " failed: " + strerror(r.err);
  std::string what = ifname + extra;
  if (!r.kernel_message.empty()) what += (what.empty() ? "" : ": ") + r.kernel_message;
  if (!what.empty()) msg += " (" + what + ")";
  Napi::Error e = Napi::Error::New(env, msg);
  e.Set("code", Napi::String::New(env, uv_err_name(-r.err)));
  e.Set("errno", Napi::Number::New(env, r.err));
  e.Set("syscall", Napi::String::New(env, syscall));
  if (!ifname.empty()) e.Set("ifname", Napi::String::New(env, ifname));
  if (!r.kernel_message.empty()) e.Set("kernelMessage", Napi::String::New(env, r.kernel_message));
  e.ThrowAsJavaScriptException();
  return env.Undefined();
}

/** Attributes of one message, by type (the last of a type wins), nested ones parsed on demand. */
struct Attrs {
  std::vector<const struct nlattr*> at;
  Attrs(const void* data, size_t len, size_t max) : at(max + 1, nullptr) {
    const char* p = static_cast<const char*>(data);
    while (len >= NLA_HDRLEN) {
      const struct nlattr* a = reinterpret_cast<const struct nlattr*>(p);
      if (a->nla_len < NLA_HDRLEN || a->nla_len > len) break;
      uint16_t type = a->nla_type & NLA_TYPE_MASK;
      if (type <= max) at[type] = a;
      size_t step = NLA_ALIGN(a->nla_len);
      if (step >= len) break;
      p += step;
      len -= step;
    }
  }
  const void* Data(uint16_t t) const { return at[t] ? reinterpret_cast<const char*>(at[t]) + NLA_HDRLEN : nullptr; }
  size_t Len(uint16_t t) const { return at[t] ? at[t]->nla_len - NLA_HDRLEN : 0; }
  uint32_t U32(uint16_t t, uint32_t dflt = 0) const {
    uint32_t v = dflt;
    if (Len(t) >= sizeof v) memcpy(&v, Data(t), sizeof v);
    return v;
  }
  std::string Str(uint16_t t) const { return at[t] ? std::string(static_cast<const char*>(Data(t)), strnlen(static_cast<const char*>(Data(t)), Len(t))) : ""; }
};

struct Link {
  int index = 0;
  unsigned flags = 0;
  std::string name, kind;
  uint32_t master = 0, mtu = 0, link = 0;
  std::string mac;
};

Link ParseLink(const struct nlmsghdr* h) {
  Link l;
  const struct ifinfomsg* ifi = static_cast<const struct ifinfomsg*>(NLMSG_DATA(h));
  l.index = ifi->ifi_index;
  l.flags = ifi->ifi_flags;
  size_t off = NLMSG_ALIGN(sizeof *ifi);
  if (h->nlmsg_len < NLMSG_HDRLEN + off) return l;
  Attrs a(reinterpret_cast<const char*>(ifi) + off, h->nlmsg_len - NLMSG_HDRLEN - off, IFLA_MAX);
  l.name = a.Str(IFLA_IFNAME);
  l.master = a.U32(IFLA_MASTER);
  l.mtu = a.U32(IFLA_MTU);
  l.link = a.U32(IFLA_LINK);
  if (a.Data(IFLA_ADDRESS)) {
    const unsigned char* b = static_cast<const unsigned char*>(a.Data(IFLA_ADDRESS));
    char hex[4];
    for (size_t i = 0; i < a.Len(IFLA_ADDRESS); i++) {
      snprintf(hex, sizeof hex, i ? ":%02x" : "%02x", b[i]);
      l.mac += hex;
    }
  }
  if (a.Data(IFLA_LINKINFO)) {
    Attrs info(a.Data(IFLA_LINKINFO), a.Len(IFLA_LINKINFO), IFLA_INFO_MAX);
    l.kind = info.Str(IFLA_INFO_KIND);
  }
  return l;
}

NlMsg GetLinkRequest(uint16_t flags) {
  NlMsg m(RTM_GETLINK, flags);
  struct ifinfomsg ifi = {};
  ifi.ifi_family = AF_UNSPEC;
  m.PutStruct(ifi);
  m.AttrU32(IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);  // the counters are most of a reply
  return m;
}

/** The index of `name` in the socket's namespace, or 0 with r->err set. */
int LinkIndex(int fd, const std::string& name, NlResult* r) {
  NlMsg m = GetLinkRequest(NLM_F_ACK);
  m.AttrStr(IFLA_IFNAME, name);
  int index = 0;
  *r = Transact(fd, m, [&](const struct nlmsghdr* h) {
    if (h->nlmsg_type == RTM_NEWLINK) index = ParseLink(h).index;
  });
  if (!r->err && index <= 0) r->err = ENODEV;
  return r->err ? 0 : index;
}

std::string OptString(const Napi::Object& o, const char* key) {
  Napi::Value v = o.Get(key);
  return v.IsString() ? v.As<Napi::String>().Utf8Value() : "";
}
bool Has(const Napi::Object& o, const char* key) {
  Napi::Value v = o.Get(key);
  return !v.IsUndefined() && !v.IsNull();
}
uint32_t U32(const Napi::Object& o, const char* key) { return o.Get(key).As<Napi::Number>().Uint32Value(); }

/** IFLA_ADDRESS from a Buffer property (a MAC), if there. */
void PutMac(NlMsg& m, const Napi::Object& o) {
  if (!o.Get("mac").IsBuffer()) return;
  Napi::Buffer<uint8_t> mac = o.Get("mac").As<Napi::Buffer<uint8_t>>();
  m.Attr(IFLA_ADDRESS, mac.Data(), mac.Length());
}

bool NameOk(const std::string& s) { return !s.empty() && s.size() < IFNAMSIZ; }

Napi::Value BadName(Napi::Env env, const char* syscall, const std::string& name) {
  NlResult r;
  r.err = EINVAL;
  return Throw(env, r, syscall, name, " is not an interface name of 1-15 bytes");
}

Napi::Object LinkToJs(Napi::Env env, const Link& l) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("index", Napi::Number::New(env, l.index));
  o.Set("name", Napi::String::New(env, l.name));
  o.Set("kind", Napi::String::New(env, l.kind));
  o.Set("master", Napi::Number::New(env, l.master));
  o.Set("link", Napi::Number::New(env, l.link));
  o.Set("mtu", Napi::Number::New(env, l.mtu));
  o.Set("mac", Napi::String::New(env, l.mac));
  o.Set("flags", Napi::Number::New(env, l.flags));
  return o;
}

}  // namespace

// netlinkAddLink(fd, { name, kind, mtu?, mac?, up?, master?, peer?: { name, nsFd?, mtu?, mac? } }):
// RTM_NEWLINK with NLM_F_CREATE | NLM_F_EXCL. A veth's peer may be placed
// straight into another namespace (IFLA_NET_NS_FD inside VETH_INFO_PEER).
Napi::Value NetlinkAddLink(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* sc = "rtnetlink RTM_NEWLINK";
  int fd = info[0].As<Napi::Number>().Int32Value();
  Napi::Object spec = info[1].As<Napi::Object>();
  std::string name = OptString(spec, "name"), kind = OptString(spec, "kind");
  if (!NameOk(name)) return BadName(env, sc, name);
  NlResult r;
  int master = 0;
  if (Has(spec, "master")) {
    std::string mname = OptString(spec, "master");
    master = LinkIndex(fd, mname, &r);
    if (r.err) return Throw(env, r, "rtnetlink RTM_GETLINK", mname, " (the master of " + name + ")");
  }
  NlMsg m(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK);
  struct ifinfomsg ifi = {};
  ifi.ifi_family = AF_UNSPEC;
  if (Has(spec, "up")) {
    ifi.ifi_change = IFF_UP;
    ifi.ifi_flags = spec.Get("up").ToBoolean().Value() ? IFF_UP : 0;
  }
  m.PutStruct(ifi);
  m.AttrStr(IFLA_IFNAME, name);
  if (Has(spec, "mtu")) m.AttrU32(IFLA_MTU, U32(spec, "mtu"));
  PutMac(m, spec);
  if (master) m.AttrU32(IFLA_MASTER, (uint32_t)master);
  std::string peer_name;
  size_t linkinfo = m.Nest(IFLA_LINKINFO);
  m.AttrStr(IFLA_INFO_KIND, kind);
  if (spec.Get("peer").IsObject()) {
    Napi::Object peer = spec.Get("peer").As<Napi::Object>();
    peer_name = OptString(peer, "name");
    if (!NameOk(peer_name)) return BadName(env, sc, peer_name);
    size_t data = m.Nest(IFLA_INFO_DATA);
    size_t p = m.Nest(VETH_INFO_PEER);
    struct ifinfomsg pifi = {};
    pifi.ifi_family = AF_UNSPEC;
    m.PutStruct(pifi);
    m.AttrStr(IFLA_IFNAME, peer_name);
    if (Has(peer, "nsFd")) m.AttrU32(IFLA_NET_NS_FD, U32(peer, "nsFd"));
    if (Has(peer, "mtu")) m.AttrU32(IFLA_MTU, U32(peer, "mtu"));
    PutMac(m, peer);
    m.EndNest(p);
    m.EndNest(data);
  }
  m.EndNest(linkinfo);
  r = Transact(fd, m, kIgnore);
  if (r.err) return Throw(env, r, sc, name, peer_name.empty() ? "" : ", peer " + peer_name);
  return env.Undefined();
}

// netlinkSetLink(fd, name, { up?, mtu?, mac?, master? ('' = none), newName?, nsFd? }):
// RTM_SETLINK on the link's index. With nsFd, newName is its name in the
// target namespace: the move and the rename are one request, so the peer
// never needs a free name on both sides.
Napi::Value NetlinkSetLink(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* sc = "rtnetlink RTM_SETLINK";
  int fd = info[0].As<Napi::Number>().Int32Value();
  std::string name = info[1].As<Napi::String>().Utf8Value();
  Napi::Object spec = info[2].As<Napi::Object>();
  if (!NameOk(name)) return BadName(env, sc, name);
  NlResult r;
  int index = LinkIndex(fd, name, &r);
  if (r.err) return Throw(env, r, "rtnetlink RTM_GETLINK", name);
  int master = -1;
  if (Has(spec, "master")) {
    std::string mname = OptString(spec, "master");
    master = 0;  // IFLA_MASTER 0: leave the master
    if (!mname.empty()) {
      master = LinkIndex(fd, mname, &r);
      if (r.err) return Throw(env, r, "rtnetlink RTM_GETLINK", mname, " (the master for " + name + ")");
    }
  }
  NlMsg m(RTM_SETLINK, NLM_F_ACK);
  struct ifinfomsg ifi = {};
  ifi.ifi_family = AF_UNSPEC;
  ifi.ifi_index = index;
  if (Has(spec, "up")) {
    ifi.ifi_change = IFF_UP;
    ifi.ifi_flags = spec.Get("up").ToBoolean().Value() ? IFF_UP : 0;
  }
  m.PutStruct(ifi);
  std::string new_name = OptString(spec, "newName");
  if (Has(spec, "newName")) {
    if (!NameOk(new_name)) return BadName(env, sc, new_name);
    m.AttrStr(IFLA_IFNAME, new_name);
  }
  if (Has(spec, "mtu")) m.AttrU32(IFLA_MTU, U32(spec, "mtu"));
  PutMac(m, spec);
  if (master >= 0) m.AttrU32(IFLA_MASTER, (uint32_t)master);
  if (Has(spec, "nsFd")) m.AttrU32(IFLA_NET_NS_FD, U32(spec, "nsFd"));
  r = Transact(fd, m, kIgnore);
  if (r.err) return Throw(env, r, sc, name, new_name.empty() ? "" : " -> " + new_name);
  return env.Undefined();
}

// netlinkDelLink(fd, name): RTM_DELLINK by name (a veth takes its peer with it).
Napi::Value NetlinkDelLink(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* sc = "rtnetlink RTM_DELLINK";
  int fd = info[0].As<Napi::Number>().Int32Value();
  std::string name = info[1].As<Napi::String>().Utf8Value();
  if (!NameOk(name)) return BadName(env, sc, name);
  NlMsg m(RTM_DELLINK, NLM_F_ACK);
  struct ifinfomsg ifi = {};
  ifi.ifi_family = AF_UNSPEC;
  m.PutStruct(ifi);
  m.AttrStr(IFLA_IFNAME, name);
  NlResult r = Transact(fd, m, kIgnore);
  if (r.err) return Throw(env, r, sc, name);
  return env.Undefined();
}

// netlinkGetLinks(fd, name?): [{ index, name, kind, master, link, mtu, mac, flags }],
// one link (ENODEV if there is none) or, without a name, a dump of all.
Napi::Value NetlinkGetLinks(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = info[0].As<Napi::Number>().Int32Value();
  bool one = info.Length() > 1 && info[1].IsString();
  std::string name = one ? info[1].As<Napi::String>().Utf8Value() : "";
  if (one && !NameOk(name)) return BadName(env, "rtnetlink RTM_GETLINK", name);
  std::vector<Link> links;
  NlResult r;
  // A dump interrupted by a concurrent change (NLM_F_DUMP_INTR) is retried.
  for (int attempt = 0; attempt < 5; attempt++) {
    links.clear();
    NlMsg m = GetLinkRequest(one ? NLM_F_ACK : NLM_F_DUMP);
    if (one) m.AttrStr(IFLA_IFNAME, name);
    r = Transact(fd, m, [&](const struct nlmsghdr* h) {
      if (h->nlmsg_type == RTM_NEWLINK) links.push_back(ParseLink(h));
    });
    if (r.err != EINTR || one) break;
  }
  if (r.err) return Throw(env, r, "rtnetlink RTM_GETLINK", name);
  Napi::Array out = Napi::Array::New(env, links.size());
  for (size_t i = 0; i < links.size(); i++) out.Set((uint32_t)i, LinkToJs(env, links[i]));
  return out;
}

// netlinkAddAddress(fd, name, family, address: Buffer, prefix, { broadcast?: Buffer, nodad? }):
// RTM_NEWADDR (IFA_LOCAL and IFA_ADDRESS, as `ip addr add` sends them).
Napi::Value NetlinkAddAddress(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* sc = "rtnetlink RTM_NEWADDR";
  int fd = info[0].As<Napi::Number>().Int32Value();
  std::string name = info[1].As<Napi::String>().Utf8Value();
  int family = info[2].As<Napi::Number>().Int32Value() == 6 ? AF_INET6 : AF_INET;
  Napi::Buffer<uint8_t> addr = info[3].As<Napi::Buffer<uint8_t>>();
  uint32_t prefix = info[4].As<Napi::Number>().Uint32Value();
  Napi::Object opts = info[5].As<Napi::Object>();
  if (!NameOk(name)) return BadName(env, sc, name);
  NlResult r;
  int index = LinkIndex(fd, name, &r);
  if (r.err) return Throw(env, r, "rtnetlink RTM_GETLINK", name);
  NlMsg m(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK);
  struct ifaddrmsg ifa = {};
  ifa.ifa_family = (uint8_t)family;
  ifa.ifa_prefixlen = (uint8_t)prefix;
  ifa.ifa_scope = RT_SCOPE_UNIVERSE;
  ifa.ifa_index = (uint32_t)index;
  uint32_t flags = opts.Get("nodad").ToBoolean().Value() ? IFA_F_NODAD : 0;
  ifa.ifa_flags = (uint8_t)flags;
  m.PutStruct(ifa);
  m.Attr(IFA_LOCAL, addr.Data(), addr.Length());
  m.Attr(IFA_ADDRESS, addr.Data(), addr.Length());
  if (opts.Get("broadcast").IsBuffer()) {
    Napi::Buffer<uint8_t> brd = opts.Get("broadcast").As<Napi::Buffer<uint8_t>>();
    m.Attr(IFA_BROADCAST, brd.Data(), brd.Length());
  }
  if (flags) m.AttrU32(IFA_FLAGS, flags);
  r = Transact(fd, m, kIgnore);
  if (r.err) return Throw(env, r, sc, name);
  return env.Undefined();
}

// netlinkAddRoute(fd, { family, dst?: Buffer, prefix, gateway?: Buffer, ifname?, metric? }):
// RTM_NEWROUTE in the main table; prefix 0 is the default route.
Napi::Value NetlinkAddRoute(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* sc = "rtnetlink RTM_NEWROUTE";
  int fd = info[0].As<Napi::Number>().Int32Value();
  Napi::Object spec = info[1].As<Napi::Object>();
  std::string ifname = OptString(spec, "ifname");
  NlResult r;
  int oif = 0;
  if (!ifname.empty()) {
    if (!NameOk(ifname)) return BadName(env, sc, ifname);
    oif = LinkIndex(fd, ifname, &r);
    if (r.err) return Throw(env, r, "rtnetlink RTM_GETLINK", ifname);
  }
  bool gw = spec.Get("gateway").IsBuffer();
  NlMsg m(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK);
  struct rtmsg rtm = {};
  rtm.rtm_family = U32(spec, "family") == 6 ? AF_INET6 : AF_INET;
  rtm.rtm_dst_len = (uint8_t)U32(spec, "prefix");
  rtm.rtm_table = RT_TABLE_MAIN;
  rtm.rtm_protocol = RTPROT_BOOT;  // what `ip route add` marks its routes with
  rtm.rtm_scope = gw ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
  rtm.rtm_type = RTN_UNICAST;
  m.PutStruct(rtm);
  if (spec.Get("dst").IsBuffer() && rtm.rtm_dst_len > 0) {
    Napi::Buffer<uint8_t> dst = spec.Get("dst").As<Napi::Buffer<uint8_t>>();
    m.Attr(RTA_DST, dst.Data(), dst.Length());
  }
  if (gw) {
    Napi::Buffer<uint8_t> g = spec.Get("gateway").As<Napi::Buffer<uint8_t>>();
    m.Attr(RTA_GATEWAY, g.Data(), g.Length());
  }
  if (oif) m.AttrU32(RTA_OIF, (uint32_t)oif);
  if (Has(spec, "metric")) m.AttrU32(RTA_PRIORITY, U32(spec, "metric"));
  r = Transact(fd, m, kIgnore);
  if (r.err) return Throw(env, r, sc, ifname);
  return env.Undefined();
}

// netlinkSetBridgePort(fd, name, { hairpin }): RTM_SETLINK of family AF_BRIDGE
// with IFLA_PROTINFO (what `bridge link set dev X hairpin on` sends); the
// kernel hands it to the port's bridge.
Napi::Value NetlinkSetBridgePort(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const char* sc = "rtnetlink RTM_SETLINK";
  int fd = info[0].As<Napi::Number>().Int32Value();
  std::string name = info[1].As<Napi::String>().Utf8Value();
  Napi::Object spec = info[2].As<Napi::Object>();
  if (!NameOk(name)) return BadName(env, sc, name);
  NlResult r;
  int index = LinkIndex(fd, name, &r);
  if (r.err) return Throw(env, r, "rtnetlink RTM_GETLINK", name);
  NlMsg m(RTM_SETLINK, NLM_F_ACK);
  struct ifinfomsg ifi = {};
  ifi.ifi_family = AF_BRIDGE;
  ifi.ifi_index = index;
  m.PutStruct(ifi);
  size_t prot = m.Nest(IFLA_PROTINFO);
  m.AttrU8(IFLA_BRPORT_MODE, spec.Get("hairpin").ToBoolean().Value() ? 1 : 0);
  m.EndNest(prot);
  r = Transact(fd, m, kIgnore);
  if (r.err) return Throw(env, r, sc, name);
  return env.Undefined();
}

}  // namespace berth
