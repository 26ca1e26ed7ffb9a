// The primitives of the plan's encoding (native/wire/wire.js says it: 8-byte
// integers, strings and byte arrays as a length (all ones = null) and their
// bytes, arrays as a count and items), read by the generated DecodePlan (plan_codec.gen.cc).
// A short or malformed buffer never reads out of bounds: the reader turns
// not-ok and yields zeros and nulls, and DecodePlan refuses the plan.
#pragma once
#include <stdint.h>
#include <string.h>

#include <string>

#include "plan_store.h"

namespace berth {

class PlanReader {
 public:
  PlanReader(const char* data, size_t size, PlanStore* store) : p_(data), end_(data + size), store_(store) {}

  // Whole: every read fit, and nothing is left after the last field.
  bool whole() const { return ok_ && p_ == end_; }

  uint64_t u() {
    uint64_t v = 0;
    if (end_ - p_ < (long)sizeof v) return ok_ = false, 0;
    memcpy(&v, p_, sizeof v);
    p_ += sizeof v;
    return v;
  }

  // Into any integer member: the cast keeps the low bits, so a negative number
  // written as its 64-bit two's complement comes back as itself.
  template <class T>
  void num(T& out) {
    out = (T)u();
  }

  // A string the plan must have: null makes the plan invalid.
  void str(const char*& out) {
    out = string();
    if (!out) ok_ = false;
  }
  // argv/envp: execve wants char* const*; nothing writes through them.
  void str(char*& out) {
    const char* s;
    str(s);
    out = const_cast<char*>(s);
  }
  void opt_str(const char*& out) { out = string(); }
  // Bytes (a BPF program): null and 0 when absent. Kept in the store like a
  // string, whose buffer is malloc-aligned, enough for any struct of ints.
  template <class N>
  void bytes(const void*& out, N& n) {
    uint64_t len = 0;
    out = raw(&len);
    n = (N)len;
  }

  // An array count in [min, max], and never more than the bytes left, so a
  // corrupt count cannot make the decoder allocate wildly.
  uint64_t count(uint64_t min, uint64_t max) {
    uint64_t n = u();
    if (n < min || n > max || n > (uint64_t)(end_ - p_)) ok_ = false;
    return ok_ ? n : 0;
  }

 private:
  static const uint64_t kNullLength = ~0ULL;

  // null for a null string; a non-null one is kept in the store.
  const char* string() {
    uint64_t n = 0;
    return raw(&n);
  }

  const char* raw(uint64_t* len) {
    uint64_t n = u();
    if (!ok_ || n == kNullLength) return nullptr;
    if ((uint64_t)(end_ - p_) < n) return ok_ = false, nullptr;
    const char* v = store_->keep(std::string(p_, n));
    p_ += n;
    *len = n;
    return v;
  }

  const char* p_;
  const char* end_;
  PlanStore* store_;
  bool ok_ = true;
};

const uint64_t kNoLimit = ~0ULL;

}  // namespace berth
