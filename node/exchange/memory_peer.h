// An ExchangePeer in memory: the consumer's calls reach the provider's Provider directly, as
// from the consumer's DID, with faults to inject (a provider down, a transfer cut after some
// chunks). Provider and consumer then run in one process with no sockets (node/exchange tests).
#ifndef HANSE_NODE_EXCHANGE_MEMORY_PEER_H_
#define HANSE_NODE_EXCHANGE_MEMORY_PEER_H_

#include <atomic>
#include <map>
#include <string>

#include "absl/strings/str_cat.h"
#include "node/exchange/exchange_peer.h"
#include "node/exchange/provider.h"

namespace hanse::node {

class MemoryExchangePeer final : public ExchangePeer {
 public:
  // Calls to the provider `did` reach `provider` as from `caller`.
  void Connect(const std::string& did, Provider* provider, std::string caller) {
    providers_[did] = {provider, std::move(caller)};
  }
  // While down, every call fails with Unavailable and reaches nothing.
  void SetDown(bool down) { down_ = down; }
  // The next transfer breaks after `chunks` chunks (Unavailable); -1: none break.
  void CutNextFetchAfter(int chunks) { cut_after_ = chunks; }
  // The next transfer stalls after `chunks` chunks until the receiver's idle timeout.
  void StallNextFetchAfter(int chunks) {
    cut_after_ = chunks;
    stall_ = true;
  }

  absl::Status Negotiate(const MemberCard& p, const hanse::v1::NegotiateRequest& req,
                         hanse::v1::NegotiateResponse* resp) override {
    return Call(p, [&](Provider& pr, const std::string& caller) {
      return Assign(pr.Negotiate(caller, req), resp);
    });
  }
  absl::Status Countersign(const MemberCard& p, const hanse::v1::CountersignRequest& req,
                           hanse::v1::CountersignResponse* resp) override {
    return Call(p, [&](Provider& pr, const std::string& caller) {
      return Assign(pr.Countersign(caller, req), resp);
    });
  }
  absl::Status Fetch(const MemberCard& p, const hanse::v1::FetchRequest& req, absl::Duration,
                     const std::function<bool(hanse::v1::FetchChunk&)>& on_chunk) override {
    const int cut = cut_after_.exchange(-1);
    const bool stall = stall_.exchange(false);
    int sent = 0;
    bool cut_off = false, stopped = false;
    absl::Status s = Call(p, [&](Provider& pr, const std::string& caller) {
      return pr.Fetch(caller, req, [&](const hanse::v1::FetchChunk& chunk) {
        if (cut >= 0 && sent >= cut) {
          cut_off = true;
          return false;
        }
        ++sent;
        hanse::v1::FetchChunk received = chunk;  // what the wire would deliver: a copy
        if (!on_chunk(received)) {
          stopped = true;
          return false;
        }
        return true;
      });
    });
    if (cut_off && stall) {
      return absl::DeadlineExceededError("the provider stopped sending (injected)");
    }
    if (cut_off) return absl::UnavailableError("connection lost (injected)");
    if (stopped) return absl::CancelledError("the transfer was stopped by the receiver");
    return s;
  }
  absl::Status Acknowledge(const MemberCard& p, const hanse::v1::AcknowledgeRequest& req,
                           hanse::v1::AcknowledgeResponse* resp) override {
    return Call(p, [&](Provider& pr, const std::string& caller) {
      return Assign(pr.Acknowledge(caller, req), resp);
    });
  }
  absl::Status ReportDuty(const MemberCard& p, const hanse::v1::ReportDutyRequest& req) override {
    return Call(
        p, [&](Provider& pr, const std::string& caller) { return pr.ReportDuty(caller, req); });
  }

 private:
  template <typename T>
  static absl::Status Assign(absl::StatusOr<T> r, T* out) {
    if (r.ok()) *out = *std::move(r);
    return r.status();
  }
  template <typename F>
  absl::Status Call(const MemberCard& p, F&& body) {
    if (down_) return absl::UnavailableError(absl::StrCat(p.endpoint, " is down (injected)"));
    auto it = providers_.find(p.did);
    if (it == providers_.end()) return absl::UnavailableError(absl::StrCat("no route to ", p.did));
    return body(*it->second.first, it->second.second);
  }

  std::map<std::string, std::pair<Provider*, std::string>> providers_;
  std::atomic<bool> down_{false};
  std::atomic<int> cut_after_{-1};
  std::atomic<bool> stall_{false};
};

}  // namespace hanse::node

#endif  // HANSE_NODE_EXCHANGE_MEMORY_PEER_H_
