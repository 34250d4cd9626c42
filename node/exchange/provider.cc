#include "node/exchange/provider.h"

#include <algorithm>
#include <optional>

#include "absl/strings/str_cat.h"
#include "base/json.h"
#include "base/log.h"
#include "base/status.h"
#include "node/audit/receipt.h"
#include "node/contract/agreement.h"
#include "node/contract/keys.h"
#include "node/exchange/pipeline.h"
#include "node/publishing/publishing.h"
#include "node/source/factory.h"
#include "node/source/postgres.h"
#include "policy/evaluate.h"
#include "policy/policy.h"
#include "trust/jws.h"
#include "trust/sha256_stream.h"

namespace hanse::node {

using contract::Negotiation;
using contract::Role;
using contract::State;
using namespace exchange_internal;  // NOLINT: this room's own helpers

absl::StatusOr<hanse::v1::NegotiateResponse> Provider::Negotiate(
    const std::string& caller, const hanse::v1::NegotiateRequest& req) {
  const absl::Time now = c_->clock->Now();
  if (req.request_id().empty() || req.request_id().size() > 256) {
    return absl::InvalidArgumentError("request_id must be 1-256 characters");
  }
  HANSE_ASSIGN_OR_RETURN(catalog::StoredDocument ds, c_->catalog->Get(req.dataset_id()), "dataset");
  HANSE_ASSIGN_OR_RETURN(catalog::Document doc, catalog::DecodeDocument(ds));
  if (doc.kind != catalog::DocumentKind::kDataset || doc.issuer != c_->self()) {
    return absl::NotFoundError(
        absl::StrCat(req.dataset_id(), " is not a dataset this node provides"));
  }
  if (!req.consumer_card_jws().empty()) {
    HANSE_RETURN_IF_ERROR(c_->StoreCard(caller, req.consumer_card_jws()));
  }
  HANSE_RETURN_IF_ERROR(c_->AcceptFacts(caller, req.consumer_documents()));
  contract::NegotiationStart start = StartOf(doc, req.request_id(), caller, req.purpose());
  // Each step is stored with its audit entry in one synced batch.
  HANSE_ASSIGN_OR_RETURN(Negotiation n, c_->contracts.BeginProviderNegotiation(
                                            start, now,
                                            c_->Audited("negotiation.requested", caller,
                                                        {{"dataset", start.dataset_id},
                                                         {"version", start.dataset_version},
                                                         {"purpose", start.purpose}})));
  hanse::v1::NegotiateResponse resp;
  resp.set_provider_card_jws(c_->card());
  if (n.state == State::kRequested) {
    HANSE_ASSIGN_OR_RETURN(policy::Request facts, c_->FactsAbout(caller, req, now));
    const nlohmann::json details = {
        {"stage", "negotiation"}, {"consumer", caller}, {"dataset", n.dataset_id}};
    auto decided = [&](catalog::WriteBatch batch, const Negotiation& after,
                       absl::string_view reason) {
      return c_->Audited(after.decision_permit == true ? "decision.permit" : "decision.deny",
                         c_->self(), details,
                         /*with_reason=*/true)(std::move(batch), after, reason);
    };
    HANSE_ASSIGN_OR_RETURN(contract::ProviderDecision d,
                           c_->contracts.Decide(n.id, facts, now, decided));
    n = d.negotiation;
    if (d.permit) {
      HANSE_ASSIGN_OR_RETURN(n, c_->contracts.Agree(n.id, c_->home->identity.participant_key, now,
                                                    c_->Audited("negotiation.agreed", c_->self(),
                                                                {{"negotiation", n.id}})));
    }
  }
  resp.set_state(std::string(contract::StateName(n.state)));
  resp.set_agreement_jws(n.provider_token);
  resp.set_agreement_id(n.agreement_id);
  resp.set_reason(n.termination_reason);
  resp.set_trace_json(n.decision_json);
  return resp;
}

absl::StatusOr<hanse::v1::CountersignResponse> Provider::Countersign(
    const std::string& caller, const hanse::v1::CountersignRequest& req) {
  const absl::Time now = c_->clock->Now();
  HANSE_ASSIGN_OR_RETURN(Negotiation n,
                         c_->contracts.GetByAgreement(Role::kProvider, req.agreement_id()));
  if (n.consumer_did != caller) {
    return absl::PermissionDeniedError("only the agreement's consumer can countersign it");
  }
  // The countersignature is checked and the agreement finalized in one step.
  HANSE_ASSIGN_OR_RETURN(
      n, c_->contracts.AcceptVerificationAndFinalize(
             n.id, req.consumer_jws(), now,
             c_->Audited("negotiation.finalized", caller, {{"negotiation", n.id}})));
  hanse::v1::CountersignResponse resp;
  resp.set_state(std::string(contract::StateName(n.state)));
  return resp;
}

void Provider::MarkForRepublication(const std::string& dataset_id, const absl::Status& why) {
  switch (why.code()) {
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kDataLoss:
      break;
    default:
      return;  // unreachable, refused, full: nothing to republish
  }
  catalog::WriteBatch batch;
  batch.Put(
      catalog::Family::kContracts, contract::RepublishKey(dataset_id),
      nlohmann::json({{"reason", std::string(why.message())}, {"since", Rfc3339(c_->clock->Now())}})
          .dump());
  if (absl::Status written = c_->store->Write(batch, /*sync=*/true); !written.ok()) {
    log::Warn("could not note that a dataset needs republication",
              {{"dataset", dataset_id}, {"error", written.ToString()}});
  }
}

absl::Status Provider::Fetch(const std::string& caller, const hanse::v1::FetchRequest& req,
                             const ChunkWriter& write) {
  HANSE_ASSIGN_OR_RETURN(Negotiation n,
                         c_->contracts.GetByAgreement(Role::kProvider, req.agreement_id()));
  if (n.consumer_did != caller) {
    c_->Audit(
        "decision.deny", n.agreement_id, caller,
        {{"stage", "transfer"}, {"reason", "presented by a member that is not its consumer"}});
    return absl::PermissionDeniedError(
        absl::StrCat("agreement ", n.agreement_id, " was not made with ", caller));
  }
  if (n.state != State::kFinalized) {
    return absl::FailedPreconditionError(absl::StrCat(
        "agreement ", n.agreement_id, " is ", contract::StateName(n.state), ", not FINALIZED"));
  }
  // The dataset must still be published, in the version agreed.
  auto current = c_->catalog->Get(n.dataset_id);
  if (!current.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(n.dataset_id, " is no longer published"));
  }
  HANSE_ASSIGN_OR_RETURN(catalog::Document current_doc, catalog::DecodeDocument(*current));
  if (current_doc.dataset.sha256 != n.content_digest) {
    return absl::FailedPreconditionError(
        absl::StrCat(n.dataset_id,
                     " has been republished with other content since this agreement; negotiate "
                     "again for the new version"));
  }
  HANSE_ASSIGN_OR_RETURN(contract::Agreement agreement,
                         contract::VerifyProviderAgreement(n.provider_token));
  HANSE_ASSIGN_OR_RETURN(policy::Policy pol, policy::ParsePolicy(n.policy_json), "policy");
  HANSE_ASSIGN_OR_RETURN(policy::Request stored, policy::ParseRequest(n.request_json));
  hanse::v1::NegotiateRequest facts_req;
  facts_req.set_dataset_id(n.dataset_id);
  facts_req.set_purpose(stored.purpose);
  for (const auto& c : stored.purpose_classes) facts_req.add_purpose_classes(c);

  // Each fetch re-evaluates with fresh facts (credentials may have been revoked, the window
  // closed).
  auto evaluate = [&](std::int64_t uses_before) -> absl::StatusOr<policy::Decision> {
    HANSE_ASSIGN_OR_RETURN(policy::Request r, c_->FactsAbout(caller, facts_req, c_->clock->Now()));
    r.use_count = uses_before;
    r.agreement_start = agreement.issued_at;
    return policy::Evaluate(pol, r);
  };
  auto decided = [&](const policy::Decision& d, bool resuming, std::int64_t uses_before) {
    c_->Audit(d.permit ? "decision.permit" : "decision.deny", n.agreement_id, c_->self(),
              {{"stage", resuming ? "transfer.resume" : "transfer"},
               {"consumer", caller},
               {"uses_before", uses_before},
               {"reason", d.reason}});
  };
  // A new use the policy denies opens nothing (a database query is not even started for it);
  // a permit is taken again below, with the use counted, as one step. A resume is decided
  // below only, where it is known to be one.
  if (req.offset() == 0) {
    HANSE_ASSIGN_OR_RETURN(std::int64_t uses, c_->contracts.UseCount(n.agreement_id));
    HANSE_ASSIGN_OR_RETURN(policy::Decision d, evaluate(uses));
    if (!d.permit) {
      decided(d, /*resuming=*/false, uses);
      return absl::PermissionDeniedError(absl::StrCat("the policy denies this use: ", d.reason));
    }
  }
  HANSE_ASSIGN_OR_RETURN(auto content_record, c_->store->Get(catalog::Family::kContracts,
                                                             contract::ContentKey(n.dataset_id)));
  if (!content_record) {
    return absl::NotFoundError(absl::StrCat("the content of ", n.dataset_id, " is not on record"));
  }
  // The source is opened before a use is claimed: a source that is gone or changed since it
  // was published costs the consumer nothing.
  HANSE_ASSIGN_OR_RETURN(nlohmann::json record, source::ParseRecord(*content_record));
  absl::StatusOr<std::unique_ptr<source::Source>> src =
      source::MakeSource(SourceContextOf(*c_->home), record);
  absl::StatusOr<std::unique_ptr<source::Reader>> reader =
      src.ok() ? (*src)->Open(req.offset()) : src.status();
  if (!reader.ok()) {
    log::Warn("a dataset's source no longer matches what was published; republish it",
              {{"dataset", n.dataset_id}, {"error", std::string(reader.status().message())}});
    MarkForRepublication(n.dataset_id, reader.status());
    c_->Audit("transfer.refused", n.agreement_id, caller,
              {{"dataset", n.dataset_id},
               {"offset", req.offset()},
               {"reason", std::string(reader.status().message())}});
    return absl::Status(
        reader.status().code(),
        absl::StrCat("the provider cannot send ", n.dataset_id, ": ", reader.status().message()));
  }
  // Decide and count the use as one step: concurrent fetches cannot both pass "at most N".
  std::int64_t use = 0;
  {
    std::lock_guard lock(use_mu_);
    HANSE_ASSIGN_OR_RETURN(auto open, c_->store->Get(catalog::Family::kContracts,
                                                     contract::OpenUseKey(n.agreement_id)));
    nlohmann::json open_use = open ? ParseJson(*open).value_or(nlohmann::json()) : nullptr;
    const bool resuming =
        req.offset() > 0 && open_use.is_object() && open_use.value("resumes", 0) < kMaxResumes;
    if (req.offset() > 0 && !resuming) {
      return absl::FailedPreconditionError(
          "nothing to resume: the last transfer completed or was resumed too often; fetch from "
          "the start (a new use)");
    }
    HANSE_ASSIGN_OR_RETURN(std::int64_t uses, c_->contracts.UseCount(n.agreement_id));
    HANSE_ASSIGN_OR_RETURN(policy::Decision d, evaluate(resuming ? uses - 1 : uses));
    decided(d, resuming, resuming ? uses - 1 : uses);
    if (!d.permit) {
      return absl::PermissionDeniedError(absl::StrCat("the policy denies this use: ", d.reason));
    }
    if (resuming) {
      use = open_use.value("use", std::int64_t{0});
      open_use["resumes"] = open_use.value("resumes", 0) + 1;
    } else {
      HANSE_ASSIGN_OR_RETURN(
          use, c_->contracts.ClaimUse(n.agreement_id, std::nullopt, c_->clock->Now()));
      open_use = {{"use", use}, {"resumes", 0}};
    }
    catalog::WriteBatch batch;
    batch.Put(catalog::Family::kContracts, contract::OpenUseKey(n.agreement_id), open_use.dump());
    HANSE_RETURN_IF_ERROR(c_->store->Write(batch, /*sync=*/true));
  }

  // A live source's length is known only at its end; the stream ends when the source does.
  const bool live = current_doc.dataset.live;
  const std::uint64_t total = live ? 0 : current_doc.dataset.byte_size;
  const std::uint64_t live_cap =
      static_cast<std::uint64_t>(std::max(0, c_->home->config.live_transfer_max_mb)) << 20;
  if (req.offset() > total) return absl::OutOfRangeError("offset beyond the end of the content");
  c_->Audit("transfer.started", n.agreement_id, caller,
            {{"use", use}, {"offset", req.offset()}, {"bytes", total}, {"live", live}});
  CountedTransfer counted(&c_->sent);
  hanse::v1::FetchChunk chunk;
  chunk.set_total_bytes(total);
  chunk.set_sha256(live ? "" : n.content_digest);
  chunk.set_use_number(static_cast<std::uint64_t>(use));
  std::uint64_t offset = req.offset();
  absl::Time next_check = c_->clock->Now() + kReevaluateEvery;
  absl::Status result = absl::OkStatus();
  // A whole transfer is hashed as it is read, and its last chunk is held back unless the bytes
  // are those published: a source changed in a way its size and time do not show is caught
  // before the consumer has it all. A live transfer's digest is what its receipt must name.
  std::optional<trust::Sha256Stream> sent;
  if (offset == 0) sent.emplace();
  std::string sent_digest;
  // Reads (and hashes) the chunk after `read_offset` into `buf`; `last` when the content ends
  // with it.
  std::uint64_t read_offset = offset;
  // Set when the bytes read are not those published (another digest, fewer bytes).
  bool content_changed = false;
  auto read_next = [&](std::string* buf, bool* last) -> absl::Status {
    buf->resize(live ? kChunkBytes : std::min<std::uint64_t>(kChunkBytes, total - read_offset));
    size_t got = 0;
    bool ended = false;
    while (got < buf->size()) {
      auto r = (*reader)->Read(buf->data() + got, buf->size() - got);
      if (!r.ok()) {
        // A source that finds itself changed says so (FailedPrecondition, naming what).
        if (absl::IsFailedPrecondition(r.status()) && !live) content_changed = true;
        return absl::Status(r.status().code(),
                            absl::StrCat("reading the content failed: ", r.status().message()));
      }
      if (*r == 0) {
        if (!live) {
          content_changed = true;
          return absl::FailedPreconditionError(
              "the content is shorter than when it was published; the provider must republish it");
        }
        ended = true;
        break;
      }
      got += *r;
    }
    buf->resize(got);
    read_offset += got;
    if (live && live_cap > 0 && read_offset > live_cap) {
      return absl::ResourceExhaustedError(
          absl::StrCat("the live source sent more than live_transfer_max_mb (", live_cap >> 20,
                       " MiB) allows; the provider stopped the transfer"));
    }
    *last = live ? ended : read_offset == total;
    if (sent) {
      sent->Update(*buf);
      if (*last) {
        sent_digest = sent->HexDigest();
        if (!live && sent_digest != n.content_digest) {
          content_changed = true;
          return absl::FailedPreconditionError(
              "the content changed since it was published (its digest differs); the provider "
              "must republish it");
        }
      }
    }
    return absl::OkStatus();
  };
  // The next chunk is read and hashed on a thread of its own while this one is sent.
  std::string next;
  bool next_last = false;
  absl::Status next_read = read_next(&next, &next_last);
  Overlap reading;
  bool first = true;
  while (true) {
    if (!next_read.ok()) {
      result = next_read;
      break;
    }
    chunk.mutable_data()->swap(next);
    const bool last = next_last;
    const size_t got = chunk.data().size();
    if (live && last && got == 0 && !first) break;
    if (!last) reading.Start([&] { next_read = read_next(&next, &next_last); });
    if (!write(chunk)) {
      result = absl::CancelledError("the consumer went away");
      break;
    }
    offset += static_cast<std::uint64_t>(got);
    c_->sent.bytes += got;
    if (first) {
      chunk.clear_total_bytes();
      chunk.clear_sha256();
      chunk.clear_use_number();
      first = false;
    }
    if (last) break;
    if (c_->clock->Now() >= next_check && (live || offset < total)) {
      // A window that closes mid-stream stops the stream.
      auto d = evaluate(use - 1);
      if (!d.ok() || !d->permit) {
        std::string why = d.ok() ? d->reason : d.status().ToString();
        c_->Audit(
            "decision.deny", n.agreement_id, c_->self(),
            {{"stage", "transfer.ongoing"}, {"use", use}, {"offset", offset}, {"reason", why}});
        result = absl::PermissionDeniedError(
            absl::StrCat("the policy no longer permits this use: ", why));
        break;
      }
      next_check = c_->clock->Now() + kReevaluateEvery;
    }
    reading.Wait();
  }
  reading.Wait();
  if (result.code() == absl::StatusCode::kDataLoss ||
      result.code() == absl::StatusCode::kFailedPrecondition) {
    log::Warn("a dataset's source no longer matches what was published; republish it",
              {{"dataset", n.dataset_id}, {"error", std::string(result.message())}});
    MarkForRepublication(n.dataset_id, result);
  }
  if (content_changed) {
    // The published content could not be delivered (it changed in a way its size and time did
    // not show, or came up short; the last chunk was held back): the use is taken back.
    std::lock_guard lock(use_mu_);
    absl::Status refunded = c_->contracts.RefundUse(n.agreement_id, use, c_->clock->Now());
    c_->Audit(
        refunded.ok() ? "use.refunded" : "use.kept", n.agreement_id, caller,
        {{"use", use}, {"reason", std::string(result.message())}, {"status", refunded.ToString()}});
    if (refunded.ok()) {
      result = absl::FailedPreconditionError(
          absl::StrCat(result.message(), "; use ", use, " was not counted"));
    }
  }
  if (result.ok() && live) {
    // The receipt of a live use must name exactly these bytes (Acknowledge checks it).
    std::lock_guard lock(use_mu_);
    catalog::WriteBatch batch;
    batch.Put(
        catalog::Family::kContracts, contract::OpenUseKey(n.agreement_id),
        nlohmann::json(
            {{"use", use}, {"resumes", kMaxResumes}, {"sent", sent_digest}, {"bytes", offset}})
            .dump());
    result = c_->store->Write(batch, /*sync=*/true);
  }
  nlohmann::json details = {{"use", use},
                            {"offset", offset},
                            {"bytes", live ? offset : total},
                            {"sha256", sent_digest},
                            {"status", result.ToString()}};
  if (const auto* rows = dynamic_cast<const source::RowCounter*>(reader->get())) {
    details["rows"] = rows->rows();  // a query's snapshot: its rows beside its digest
  }
  c_->Audit(result.ok() ? "transfer.sent" : "transfer.stopped", n.agreement_id, caller,
            std::move(details));
  if (result.ok()) counted.Completed();
  return result;
}

absl::StatusOr<hanse::v1::AcknowledgeResponse> Provider::Acknowledge(
    const std::string& caller, const hanse::v1::AcknowledgeRequest& req) {
  HANSE_ASSIGN_OR_RETURN(Negotiation n,
                         c_->contracts.GetByAgreement(Role::kProvider, req.agreement_id()));
  if (n.consumer_did != caller) {
    return absl::PermissionDeniedError("only the agreement's consumer can acknowledge a use");
  }
  HANSE_ASSIGN_OR_RETURN(
      trust::VerifiedJws v,
      trust::VerifyCompact(req.consumer_jws(), {.expected_typ = std::string(audit::kReceiptType)}),
      "receipt");
  if (v.signer_did != caller) return absl::PermissionDeniedError("the receipt is not the caller's");
  HANSE_ASSIGN_OR_RETURN(audit::Receipt receipt, audit::ParseReceiptPayload(v.payload));
  // A live use's bytes are those this node recorded when it sent them; any other use's are
  // the published ones.
  std::string expected = absl::StrCat("sha256:", n.content_digest);
  bool live = false;
  if (auto held = c_->catalog->Get(n.dataset_id); held.ok()) {
    auto doc = catalog::DecodeDocument(*held);
    live = doc.ok() && doc->dataset.live && doc->dataset.sha256 == n.content_digest;
  }
  if (live) {
    std::lock_guard lock(use_mu_);
    auto open = c_->store->Get(catalog::Family::kContracts, contract::OpenUseKey(n.agreement_id));
    nlohmann::json j;
    if (open.ok() && open->has_value()) j = ParseJson(**open).value_or(nlohmann::json());
    if (!j.is_object() || !j.contains("sent") ||
        j.value("use", std::int64_t{0}) != static_cast<std::int64_t>(receipt.use)) {
      return absl::FailedPreconditionError(
          "no completed live transfer of this use is on record; the receipt cannot be co-signed");
    }
    expected = absl::StrCat("sha256:", j.value("sent", ""));
  }
  if (receipt.agreement_id != n.agreement_id || receipt.dataset_id != n.dataset_id ||
      receipt.content_digest != expected) {
    return absl::InvalidArgumentError("the receipt does not match the agreement");
  }
  HANSE_ASSIGN_OR_RETURN(std::string provider_jws,
                         audit::SignReceipt(receipt, c_->home->identity.participant_key));
  HANSE_RETURN_IF_ERROR(
      audit::VerifyCoSignedReceipt({provider_jws, req.consumer_jws()},
                                   {n.agreement_id, n.provider_did, n.consumer_did})
          .status());
  {
    std::lock_guard lock(use_mu_);
    auto open = c_->store->Get(catalog::Family::kContracts, contract::OpenUseKey(n.agreement_id));
    if (open.ok() && open->has_value()) {
      auto j = ParseJson(**open).value_or(nlohmann::json());
      if (j.is_object() &&
          j.value("use", std::int64_t{0}) == static_cast<std::int64_t>(receipt.use)) {
        catalog::WriteBatch batch;
        batch.Delete(catalog::Family::kContracts, contract::OpenUseKey(n.agreement_id));
        HANSE_RETURN_IF_ERROR(c_->store->Write(batch, true));
      }
    }
  }
  c_->Audit("receipt", n.agreement_id, caller,
            {{"use", receipt.use},
             {"bytes", receipt.bytes},
             {"provider_jws", provider_jws},
             {"consumer_jws", req.consumer_jws()}});
  hanse::v1::AcknowledgeResponse resp;
  resp.set_provider_jws(provider_jws);
  return resp;
}

absl::Status Provider::ReportDuty(const std::string& caller,
                                  const hanse::v1::ReportDutyRequest& req) {
  HANSE_ASSIGN_OR_RETURN(contract::DutyReceipt r,
                         contract::VerifyDutyReceipt(req.duty_receipt_jws()), "duty receipt");
  if (r.executor_did != caller) {
    return absl::PermissionDeniedError("the duty receipt is not signed by the caller");
  }
  HANSE_ASSIGN_OR_RETURN(Negotiation n,
                         c_->contracts.GetByAgreement(Role::kProvider, r.agreement_id));
  if (n.consumer_did != caller) {
    return absl::PermissionDeniedError("the caller is not this agreement's consumer");
  }
  c_->Audit("duty.reported", r.agreement_id, caller,
            {{"duty", r.duty_id},
             {"kind", r.kind},
             {"result", r.result},
             {"receipt", req.duty_receipt_jws()}});
  return absl::OkStatus();
}

}  // namespace hanse::node
