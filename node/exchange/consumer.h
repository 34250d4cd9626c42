// The consumer side of contracts and transfers, for the local operator: requests a contract
// from a provider and carries the negotiation to a both-signed agreement, fetches the data
// bound to it (SHA-256 checked, resumable, receipt co-signed) and runs the duties the use
// obliges. It reaches providers only through an ExchangePeer.
#ifndef HANSE_NODE_EXCHANGE_CONSUMER_H_
#define HANSE_NODE_EXCHANGE_CONSUMER_H_

#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "hanse/v1/exchange.pb.h"
#include "node/exchange/common.h"
#include "node/exchange/exchange_peer.h"

namespace hanse::node {

// Receives the progress of a fetch; false when whoever asked went away (the fetch then stops,
// resumable, instead of completing a use nobody waits for).
using ProgressSink = std::function<bool(const hanse::v1::FetchProgress&)>;

class Consumer {
 public:
  Consumer(exchange_internal::Common* common, ExchangePeer* peer) : c_(common), peer_(peer) {}

  absl::StatusOr<hanse::v1::ContractInfo> RequestContract(
      const hanse::v1::RequestContractRequest& req);
  // `req.out` empty: the data lands in the inbox (InboxPath); every progress message names where.
  absl::Status FetchData(const hanse::v1::FetchDataRequest& req, const ProgressSink& progress);
  // Runs the duties that are due at the clock's time; one line per duty.
  std::vector<std::string> RunDueDuties();

  // A negotiation a restart interrupted, to continue once serving.
  void QueueResume(std::string id);
  // Continues the queued negotiations (each retried once under its request id; a provider
  // still down leaves it REQUESTED for `contract request --request-id`).
  void ResumeInterrupted();

 private:
  // HOME/inbox/<agreement id>/<dataset name> (directories 0700, made here); an id with other
  // than plain characters becomes part of its SHA-256.
  absl::StatusOr<std::string> InboxPath(const contract::Negotiation& n) const;
  absl::Status ScheduleDuties(const contract::Negotiation& n, std::int64_t use,
                              const std::string& out_path, absl::Time start);

  exchange_internal::Common* c_;
  ExchangePeer* peer_;
  std::mutex duty_mu_;  // one duty runner at a time
  std::mutex resume_mu_;
  std::vector<std::string> resume_;
};

}  // namespace hanse::node

#endif  // HANSE_NODE_EXCHANGE_CONSUMER_H_
