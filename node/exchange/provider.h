// The provider side of contracts and transfers: answers other members' Negotiate,
// Countersign, Fetch, Acknowledge and ReportDuty (the caller's DID comes from its verified
// certificate). Every policy decision is made on facts this node verified itself and is
// audited; a use is claimed together with the policy check that permits it.
#ifndef HANSE_NODE_EXCHANGE_PROVIDER_H_
#define HANSE_NODE_EXCHANGE_PROVIDER_H_

#include <functional>
#include <mutex>
#include <string>

#include "absl/status/statusor.h"
#include "hanse/v1/exchange.pb.h"
#include "node/exchange/common.h"

namespace hanse::node {

// Sends each FetchChunk to the caller; false when the caller went away.
using ChunkWriter = std::function<bool(const hanse::v1::FetchChunk&)>;

class Provider {
 public:
  explicit Provider(exchange_internal::Common* common) : c_(common) {}

  absl::StatusOr<hanse::v1::NegotiateResponse> Negotiate(const std::string& caller,
                                                         const hanse::v1::NegotiateRequest& req);
  absl::StatusOr<hanse::v1::CountersignResponse> Countersign(
      const std::string& caller, const hanse::v1::CountersignRequest& req);
  absl::Status Fetch(const std::string& caller, const hanse::v1::FetchRequest& req,
                     const ChunkWriter& write);
  absl::StatusOr<hanse::v1::AcknowledgeResponse> Acknowledge(
      const std::string& caller, const hanse::v1::AcknowledgeRequest& req);
  absl::Status ReportDuty(const std::string& caller, const hanse::v1::ReportDutyRequest& req);

 private:
  // Notes that an own dataset's source no longer matches what was published (changed, gone,
  // short, another digest): `hanse dataset list --mine` and `hanse status` show it, with the
  // reason, until the dataset is republished or unpublished. Other failures note nothing.
  void MarkForRepublication(const std::string& dataset_id, const absl::Status& why);

  exchange_internal::Common* c_;
  std::mutex use_mu_;  // policy re-evaluation and use claim are one step
};

}  // namespace hanse::node

#endif  // HANSE_NODE_EXCHANGE_PROVIDER_H_
