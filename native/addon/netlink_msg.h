// One rtnetlink request being built: a header, a fixed family struct
// (ifinfomsg, ifaddrmsg, rtmsg) and attributes, nested ones by offset, in one
// growing buffer (attributes are 4-byte aligned, as NLA_ALIGN says). Plain
// data: no pointers into the buffer survive an append.
#pragma once
#include <linux/netlink.h>
#include <stdint.h>
#include <string.h>

#include <string>
#include <vector>

namespace berth {

class NlMsg {
 public:
  NlMsg(uint16_t type, uint16_t flags) : buf_(NLMSG_HDRLEN, 0) {
    Hdr()->nlmsg_type = type;
    Hdr()->nlmsg_flags = (uint16_t)(NLM_F_REQUEST | flags);
  }

  /** The family struct right after the header; call once, first. */
  template <class T>
  void PutStruct(const T& v) { Append(&v, sizeof v); }

  void Attr(uint16_t type, const void* data, size_t len) {
    struct nlattr a = {(uint16_t)(NLA_HDRLEN + len), type};
    Append(&a, sizeof a);
    Append(data, len);
  }
  void AttrU8(uint16_t type, uint8_t v) { Attr(type, &v, sizeof v); }
  void AttrU32(uint16_t type, uint32_t v) { Attr(type, &v, sizeof v); }
  /** A NUL-terminated string attribute (IFLA_IFNAME, IFLA_INFO_KIND). */
  void AttrStr(uint16_t type, const std::string& s) { Attr(type, s.c_str(), s.size() + 1); }

  /** Opens a nested attribute; EndNest(offset) closes it. */
  size_t Nest(uint16_t type) {
    size_t at = buf_.size();
    struct nlattr a = {NLA_HDRLEN, (uint16_t)(type | NLA_F_NESTED)};
    Append(&a, sizeof a);
    return at;
  }
  void EndNest(size_t at) {
    uint16_t len = (uint16_t)(buf_.size() - at);
    memcpy(buf_.data() + at, &len, sizeof len);  // nla_len is the first field
  }

  /** The finished message with this sequence number. */
  const char* Finish(uint32_t seq, size_t* len) {
    Hdr()->nlmsg_len = (uint32_t)buf_.size();
    Hdr()->nlmsg_seq = seq;
    *len = buf_.size();
    return buf_.data();
  }

 private:
  struct nlmsghdr* Hdr() { return reinterpret_cast<struct nlmsghdr*>(buf_.data()); }
  void Append(const void* p, size_t n) {
    size_t at = buf_.size();
    buf_.resize(at + NLA_ALIGN(n), 0);
    if (n) memcpy(buf_.data() + at, p, n);
  }
  std::vector<char> buf_;
};

}  // namespace berth
