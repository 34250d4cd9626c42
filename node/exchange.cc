#include "node/exchange.h"

#include <fcntl.h>
#include <grpcpp/grpcpp.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "base/clock.h"
#include "base/file.h"
#include "base/log.h"
#include "base/status.h"
#include "catalog/document.h"
#include "hanse/v1/exchange.grpc.pb.h"
#include "node/audit/evidence.h"
#include "node/audit/receipt.h"
#include "node/card.h"
#include "node/contract/agreement.h"
#include "node/publishing.h"
#include "policy/evaluate.h"
#include "policy/policy.h"
#include "policy/request.h"
#include "trust/encoding.h"
#include "trust/jws.h"

namespace hanse::node {
namespace {

constexpr size_t kChunkBytes = 1 << 20;
constexpr absl::Duration kCallDeadline = absl::Seconds(30);
constexpr absl::Duration kReevaluateEvery = absl::Milliseconds(500);
// Resumptions of one use before a new use must be claimed.
constexpr int kMaxResumes = 8;

using contract::Negotiation;
using contract::Role;
using contract::State;

std::string NewUuid() {
  std::random_device rd;
  std::uniform_int_distribution<int> hex(0, 15);
  std::string s = "urn:uuid:";
  const char* digits = "0123456789abcdef";
  for (int i = 0; i < 32; ++i) {
    if (i == 8 || i == 12 || i == 16 || i == 20) s.push_back('-');
    s.push_back(digits[hex(rd)]);
  }
  return s;
}

std::string Rfc3339(absl::Time t) {
  return absl::FormatTime(absl::RFC3339_sec, t, absl::UTCTimeZone());
}

// Incremental SHA-256 (EVP), for a transfer written chunk by chunk.
class Sha256Stream {
 public:
  Sha256Stream() : ctx_(EVP_MD_CTX_new()) { EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr); }
  ~Sha256Stream() { EVP_MD_CTX_free(ctx_); }
  void Update(absl::string_view data) { EVP_DigestUpdate(ctx_, data.data(), data.size()); }
  std::string HexDigest() {
    unsigned char out[32];
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx_, out, &len);
    return trust::HexEncode(absl::string_view(reinterpret_cast<char*>(out), len));
  }

 private:
  EVP_MD_CTX* ctx_;
};

// Purposes travel and are stored as full IRIs ("hanse:MedicalResearch" -> https://w3id.org/...).
std::string ExpandIri(absl::string_view iri) { return policy::ExpandPurposeIri(iri); }

// A document this node holds, decoded (it was verified when stored).
absl::StatusOr<catalog::Document> DecodeStored(const catalog::StoredDocument& stored) {
  HANSE_ASSIGN_OR_RETURN(trust::VerifiedJws decoded, trust::DecodeUnverified(stored.jws));
  return catalog::ParseDocumentPayload(decoded.payload);
}

std::string CardKey(absl::string_view did) { return absl::StrCat("card|", did); }
std::string OpenUseKey(absl::string_view agreement) { return absl::StrCat("open|", agreement); }

}  // namespace

// Exchange stubs per member, over the federation's mutual TLS.
class ExchangeChannels {
 public:
  ExchangeChannels(const Identity* identity, CaLookup lookup)
      : identity_(identity), lookup_(std::move(lookup)) {}
  hanse::v1::Exchange::Stub* For(const MemberCard& peer) {
    std::lock_guard lock(mu_);
    auto& entry = stubs_[peer.did];
    if (!entry.second || entry.first != peer.endpoint) {
      grpc::ChannelArguments args;
      args.SetMaxReceiveMessageSize(8 << 20);
      // Large windows let one stream fill the link (a transfer is one long stream).
      args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 1);
      args.SetInt(GRPC_ARG_HTTP2_MAX_FRAME_SIZE, (1 << 24) - 1);
      args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 5000);
      auto channel = grpc::CreateCustomChannel(
          peer.endpoint, FederationChannelCredentials(*identity_, lookup_, peer.did), args);
      entry = {peer.endpoint, hanse::v1::Exchange::NewStub(channel)};
    }
    return entry.second.get();
  }

 private:
  const Identity* identity_;
  CaLookup lookup_;
  std::mutex mu_;
  std::map<std::string, std::pair<std::string, std::unique_ptr<hanse::v1::Exchange::Stub>>> stubs_;
};

Exchange::Exchange(const Home* home, catalog::Store* store, catalog::Catalog* catalog,
                   PeerRegistry* peers, std::function<std::string()> card)
    : home_(home),
      store_(store),
      catalog_(catalog),
      peers_(peers),
      card_(std::move(card)),
      contracts_(store),
      duties_(store) {}

Exchange::~Exchange() = default;

absl::StatusOr<std::unique_ptr<Exchange>> Exchange::Open(const Home* home, catalog::Store* store,
                                                         catalog::Catalog* catalog,
                                                         PeerRegistry* peers, CaLookup ca_lookup,
                                                         std::function<std::string()> card) {
  std::unique_ptr<Exchange> ex(new Exchange(home, store, catalog, peers, std::move(card)));
  ex->channels_ = std::make_unique<ExchangeChannels>(&home->identity, std::move(ca_lookup));
  HANSE_ASSIGN_OR_RETURN(ex->audit_, audit::AuditLog::Open(store, home->identity.participant_key),
                         "opening the audit log");
  return ex;
}

void Exchange::Audit(const std::string& kind, const std::string& subject, const std::string& actor,
                     nlohmann::json details) {
  audit::AuditEvent e;
  e.kind = kind;
  e.subject = subject;
  e.actor = actor;
  e.time = Clock::Real().Now();
  e.details = std::move(details);
  auto appended = audit_->Append(e);
  if (!appended.ok()) {
    log::Error("audit append failed", {{"kind", kind}, {"error", appended.status().ToString()}});
  }
}

void Exchange::Recover() {
  auto actions = contracts_.RecoverAfterRestart(Clock::Real().Now());
  if (!actions.ok()) {
    log::Error("contract recovery failed", {{"error", actions.status().ToString()}});
    return;
  }
  for (const auto& a : *actions) {
    log::Info("contract recovered", {{"id", a.id},
                                     {"role", std::string(contract::RoleName(a.role))},
                                     {"before", std::string(contract::StateName(a.before))},
                                     {"after", std::string(contract::StateName(a.after))},
                                     {"note", a.note}});
    Audit("negotiation.recovered", a.id, home_->identity.did,
          {{"role", contract::RoleName(a.role)},
           {"before", contract::StateName(a.before)},
           {"after", contract::StateName(a.after)},
           {"note", a.note}});
    if (a.role == Role::kConsumer && !contract::IsFinal(a.after)) {
      std::lock_guard lock(resume_mu_);
      resume_.push_back(a.id);
    }
  }
}

void Exchange::ResumeInterrupted() {
  std::vector<std::string> ids;
  {
    std::lock_guard lock(resume_mu_);
    ids.swap(resume_);
  }
  for (const auto& id : ids) {
    auto n = contracts_.Get(Role::kConsumer, id);
    if (!n.ok() || contract::IsFinal(n->state)) continue;
    // The same request id: the provider answers idempotently, whatever it had reached.
    hanse::v1::RequestContractRequest req;
    req.set_request_id(id);
    req.set_dataset_id(n->dataset_id);
    req.set_purpose(n->purpose);
    auto resumed = RequestContract(req);
    log::Info(
        "interrupted negotiation resumed",
        {{"id", id}, {"result", resumed.ok() ? resumed->state() : resumed.status().ToString()}});
  }
}

absl::Status Exchange::StoreCard(const std::string& did, const std::string& jws) {
  HANSE_ASSIGN_OR_RETURN(MemberCard card, VerifyCard(jws, Clock::Real().Now()), "member card");
  if (card.did != did) {
    return absl::PermissionDeniedError(absl::StrCat("the card names ", card.did, ", not ", did));
  }
  catalog::WriteBatch batch;
  batch.Put(catalog::Family::kContracts, CardKey(did), jws);
  return store_->Write(batch, /*sync=*/true);
}

absl::StatusOr<std::string> Exchange::CardOf(const std::string& did) {
  if (did == home_->identity.did) return card_();
  HANSE_ASSIGN_OR_RETURN(auto v, store_->Get(catalog::Family::kContracts, CardKey(did)));
  if (!v) return absl::NotFoundError(absl::StrCat("no card of ", did, " is held"));
  return *v;
}

absl::StatusOr<policy::Request> Exchange::FactsAbout(const std::string& consumer,
                                                     const hanse::v1::NegotiateRequest& req,
                                                     absl::Time now) {
  policy::Request r;
  r.action = "use";
  r.now = now;
  r.consumer = consumer;
  r.purpose = ExpandIri(req.purpose());
  for (const auto& c : req.purpose_classes()) r.purpose_classes.push_back(ExpandIri(c));
  r.target = req.dataset_id();
  // The consumer's country and jurisdictions as it signed them in its participant
  // self-description (verified when stored); unknown when none is held.
  auto participant = catalog_->Get(consumer);
  auto doc = participant.ok() ? DecodeStored(*participant) : participant.status();
  if (doc.ok() && doc->kind == catalog::DocumentKind::kParticipant) {
    r.country = doc->participant.country;
    r.jurisdictions = doc->participant.jurisdictions;
  }
  HANSE_ASSIGN_OR_RETURN(auto certs, catalog_->CertificationsOf(consumer, now));
  for (const auto& c : certs) r.certifications.push_back({c.name, c.issuer, c.valid_until});
  return r;
}

absl::StatusOr<hanse::v1::ContractInfo> Exchange::Info(const Negotiation& n) {
  hanse::v1::ContractInfo info;
  info.set_id(n.id);
  info.set_role(std::string(contract::RoleName(n.role)));
  info.set_state(std::string(contract::StateName(n.state)));
  info.set_provider(n.provider_did);
  info.set_consumer(n.consumer_did);
  info.set_dataset_id(n.dataset_id);
  info.set_dataset_version(n.dataset_version);
  info.set_purpose(n.purpose);
  info.set_reason(n.termination_reason);
  info.set_trace_json(n.decision_json);
  info.set_agreement_id(n.agreement_id);
  info.set_provider_jws(n.provider_token);
  info.set_consumer_jws(n.consumer_token);
  info.set_created(Rfc3339(n.created));
  info.set_updated(Rfc3339(n.updated));
  if (!n.agreement_id.empty() && n.role == Role::kProvider) {
    auto uses = contracts_.UseCount(n.agreement_id);
    if (uses.ok()) info.set_uses(*uses);
  }
  for (const auto& h : n.history) {
    info.add_history(absl::StrCat(Rfc3339(h.time), " ", contract::StateName(h.state),
                                  h.reason.empty() ? "" : ": ", h.reason));
  }
  return info;
}

// ---------------------------------------------------------------------------------------------
// Provider side.

absl::StatusOr<hanse::v1::NegotiateResponse> Exchange::Negotiate(
    const std::string& caller, const hanse::v1::NegotiateRequest& req) {
  const absl::Time now = Clock::Real().Now();
  if (req.request_id().empty() || req.request_id().size() > 256) {
    return absl::InvalidArgumentError("request_id must be 1-256 characters");
  }
  HANSE_ASSIGN_OR_RETURN(catalog::StoredDocument ds, catalog_->Get(req.dataset_id()), "dataset");
  HANSE_ASSIGN_OR_RETURN(catalog::Document doc, DecodeStored(ds));
  if (doc.kind != catalog::DocumentKind::kDataset || doc.issuer != home_->identity.did) {
    return absl::NotFoundError(
        absl::StrCat(req.dataset_id(), " is not a dataset this node provides"));
  }
  if (!req.consumer_card_jws().empty()) {
    HANSE_RETURN_IF_ERROR(StoreCard(caller, req.consumer_card_jws()));
  }
  contract::NegotiationStart start;
  start.id = req.request_id();
  start.provider_did = home_->identity.did;
  start.consumer_did = caller;
  start.dataset_id = doc.id;
  start.dataset_version = doc.sequence;
  start.content_digest = doc.dataset.sha256;
  start.policy_json = doc.dataset.policy_json;
  start.purpose = ExpandIri(req.purpose());
  HANSE_ASSIGN_OR_RETURN(Negotiation n, contracts_.BeginProviderNegotiation(start, now));
  hanse::v1::NegotiateResponse resp;
  resp.set_provider_card_jws(card_());
  if (n.state == State::kRequested) {
    Audit("negotiation.requested", n.id, caller,
          {{"dataset", n.dataset_id}, {"version", n.dataset_version}, {"purpose", n.purpose}});
    HANSE_ASSIGN_OR_RETURN(policy::Request facts, FactsAbout(caller, req, now));
    HANSE_ASSIGN_OR_RETURN(contract::ProviderDecision d, contracts_.Decide(n.id, facts, now));
    Audit(d.permit ? "decision.permit" : "decision.deny", n.id, home_->identity.did,
          {{"stage", "negotiation"},
           {"consumer", caller},
           {"dataset", n.dataset_id},
           {"reason", d.reason}});
    n = d.negotiation;
    if (d.permit) {
      HANSE_ASSIGN_OR_RETURN(n, contracts_.Agree(n.id, home_->identity.participant_key, now));
      Audit("negotiation.agreed", n.agreement_id, home_->identity.did, {{"negotiation", n.id}});
    }
  }
  resp.set_state(std::string(contract::StateName(n.state)));
  resp.set_agreement_jws(n.provider_token);
  resp.set_agreement_id(n.agreement_id);
  resp.set_reason(n.termination_reason);
  resp.set_trace_json(n.decision_json);
  return resp;
}

absl::StatusOr<hanse::v1::CountersignResponse> Exchange::Countersign(
    const std::string& caller, const hanse::v1::CountersignRequest& req) {
  const absl::Time now = Clock::Real().Now();
  HANSE_ASSIGN_OR_RETURN(Negotiation n,
                         contracts_.GetByAgreement(Role::kProvider, req.agreement_id()));
  if (n.consumer_did != caller) {
    return absl::PermissionDeniedError("only the agreement's consumer can countersign it");
  }
  HANSE_ASSIGN_OR_RETURN(n, contracts_.AcceptVerification(n.id, req.consumer_jws(), now));
  const bool was_final = n.state == State::kFinalized;
  HANSE_ASSIGN_OR_RETURN(n, contracts_.Finalize(Role::kProvider, n.id, now));
  if (!was_final) {
    Audit("negotiation.finalized", n.agreement_id, caller, {{"negotiation", n.id}});
  }
  hanse::v1::CountersignResponse resp;
  resp.set_state(std::string(contract::StateName(n.state)));
  return resp;
}

absl::Status Exchange::Fetch(const std::string& caller, const hanse::v1::FetchRequest& req,
                             const ChunkWriter& write) {
  HANSE_ASSIGN_OR_RETURN(Negotiation n,
                         contracts_.GetByAgreement(Role::kProvider, req.agreement_id()));
  if (n.consumer_did != caller) {
    Audit("decision.deny", n.agreement_id, caller,
          {{"stage", "transfer"}, {"reason", "presented by a member that is not its consumer"}});
    return absl::PermissionDeniedError(
        absl::StrCat("agreement ", n.agreement_id, " was not made with ", caller));
  }
  if (n.state != State::kFinalized) {
    return absl::FailedPreconditionError(absl::StrCat(
        "agreement ", n.agreement_id, " is ", contract::StateName(n.state), ", not FINALIZED"));
  }
  // The dataset must still be published, in the version agreed.
  auto current = catalog_->Get(n.dataset_id);
  if (!current.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(n.dataset_id, " is no longer published"));
  }
  HANSE_ASSIGN_OR_RETURN(auto relative,
                         store_->Get(catalog::Family::kContracts, ContentRecordKey(n.dataset_id)));
  if (!relative) {
    return absl::NotFoundError(absl::StrCat("the content of ", n.dataset_id, " is not on record"));
  }
  HANSE_ASSIGN_OR_RETURN(contract::Agreement agreement,
                         contract::VerifyProviderAgreement(n.provider_token));
  HANSE_ASSIGN_OR_RETURN(policy::Policy pol, policy::ParsePolicy(n.policy_json), "policy");
  HANSE_ASSIGN_OR_RETURN(policy::Request stored, policy::ParseRequest(n.request_json));
  hanse::v1::NegotiateRequest facts_req;
  facts_req.set_dataset_id(n.dataset_id);
  facts_req.set_purpose(stored.purpose);
  for (const auto& c : stored.purpose_classes) facts_req.add_purpose_classes(c);

  // Re-evaluate with fresh facts (credentials may have been revoked, the window closed) and
  // count the use, as one step: concurrent fetches cannot both pass "at most N".
  auto evaluate = [&](std::int64_t uses_before) -> absl::StatusOr<policy::Decision> {
    HANSE_ASSIGN_OR_RETURN(policy::Request r, FactsAbout(caller, facts_req, Clock::Real().Now()));
    r.use_count = uses_before;
    r.agreement_start = agreement.issued_at;
    return policy::Evaluate(pol, r);
  };
  std::int64_t use = 0;
  {
    std::lock_guard lock(use_mu_);
    HANSE_ASSIGN_OR_RETURN(auto open,
                           store_->Get(catalog::Family::kContracts, OpenUseKey(n.agreement_id)));
    nlohmann::json open_use = open ? nlohmann::json::parse(*open, nullptr, false) : nullptr;
    const bool resuming =
        req.offset() > 0 && open_use.is_object() && open_use.value("resumes", 0) < kMaxResumes;
    if (req.offset() > 0 && !resuming) {
      return absl::FailedPreconditionError(
          "nothing to resume: the last transfer completed or was resumed too often; fetch from "
          "the start (a new use)");
    }
    HANSE_ASSIGN_OR_RETURN(std::int64_t uses, contracts_.UseCount(n.agreement_id));
    HANSE_ASSIGN_OR_RETURN(policy::Decision d, evaluate(resuming ? uses - 1 : uses));
    Audit(d.permit ? "decision.permit" : "decision.deny", n.agreement_id, home_->identity.did,
          {{"stage", resuming ? "transfer.resume" : "transfer"},
           {"consumer", caller},
           {"uses_before", resuming ? uses - 1 : uses},
           {"reason", d.reason}});
    if (!d.permit) {
      return absl::PermissionDeniedError(absl::StrCat("the policy denies this use: ", d.reason));
    }
    if (resuming) {
      use = open_use.value("use", std::int64_t{0});
      open_use["resumes"] = open_use.value("resumes", 0) + 1;
    } else {
      HANSE_ASSIGN_OR_RETURN(
          use, contracts_.ClaimUse(n.agreement_id, std::nullopt, Clock::Real().Now()));
      open_use = {{"use", use}, {"resumes", 0}};
    }
    catalog::WriteBatch batch;
    batch.Put(catalog::Family::kContracts, OpenUseKey(n.agreement_id), open_use.dump());
    HANSE_RETURN_IF_ERROR(store_->Write(batch, /*sync=*/true));
  }

  const std::string path = absl::StrCat(home_->paths.data, "/", *relative);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return absl::NotFoundError(absl::StrCat("cannot open the content of ", n.dataset_id));
  struct stat st {};
  ::fstat(fd, &st);
  const std::uint64_t total = static_cast<std::uint64_t>(st.st_size);
  if (req.offset() > total) {
    ::close(fd);
    return absl::OutOfRangeError("offset beyond the end of the content");
  }
  Audit("transfer.started", n.agreement_id, caller,
        {{"use", use}, {"offset", req.offset()}, {"bytes", total}});
  hanse::v1::FetchChunk chunk;
  chunk.set_total_bytes(total);
  chunk.set_sha256(n.content_digest);
  chunk.set_use_number(static_cast<std::uint64_t>(use));
  std::uint64_t offset = req.offset();
  absl::Time next_check = absl::Now() + kReevaluateEvery;
  absl::Status result = absl::OkStatus();
  std::string* buf = chunk.mutable_data();
  bool first = true;
  while (offset < total || first) {
    buf->resize(std::min<std::uint64_t>(kChunkBytes, total - offset));
    ssize_t got = buf->empty() ? 0 : ::pread(fd, buf->data(), buf->size(), offset);
    if (got < 0 || (got == 0 && !buf->empty())) {
      result = absl::DataLossError("reading the content failed");
      break;
    }
    buf->resize(static_cast<size_t>(got));
    if (!write(chunk)) {
      result = absl::CancelledError("the consumer went away");
      break;
    }
    offset += static_cast<std::uint64_t>(got);
    if (first) {
      chunk.clear_total_bytes();
      chunk.clear_sha256();
      chunk.clear_use_number();
      first = false;
    }
    if (absl::Now() >= next_check && offset < total) {
      // A window that closes mid-stream stops the stream.
      auto d = evaluate(use - 1);
      if (!d.ok() || !d->permit) {
        std::string why = d.ok() ? d->reason : d.status().ToString();
        Audit("decision.deny", n.agreement_id, home_->identity.did,
              {{"stage", "transfer.ongoing"}, {"use", use}, {"offset", offset}, {"reason", why}});
        result = absl::PermissionDeniedError(
            absl::StrCat("the policy no longer permits this use: ", why));
        break;
      }
      next_check = absl::Now() + kReevaluateEvery;
    }
  }
  ::close(fd);
  Audit(result.ok() ? "transfer.sent" : "transfer.stopped", n.agreement_id, caller,
        {{"use", use}, {"offset", offset}, {"bytes", total}, {"status", result.ToString()}});
  return result;
}

absl::StatusOr<hanse::v1::AcknowledgeResponse> Exchange::Acknowledge(
    const std::string& caller, const hanse::v1::AcknowledgeRequest& req) {
  HANSE_ASSIGN_OR_RETURN(Negotiation n,
                         contracts_.GetByAgreement(Role::kProvider, req.agreement_id()));
  if (n.consumer_did != caller) {
    return absl::PermissionDeniedError("only the agreement's consumer can acknowledge a use");
  }
  HANSE_ASSIGN_OR_RETURN(
      trust::VerifiedJws v,
      trust::VerifyCompact(req.consumer_jws(), {.expected_typ = std::string(audit::kReceiptType)}),
      "receipt");
  if (v.signer_did != caller) return absl::PermissionDeniedError("the receipt is not the caller's");
  HANSE_ASSIGN_OR_RETURN(audit::Receipt receipt, audit::ParseReceiptPayload(v.payload));
  if (receipt.agreement_id != n.agreement_id || receipt.dataset_id != n.dataset_id ||
      receipt.content_digest != absl::StrCat("sha256:", n.content_digest)) {
    return absl::InvalidArgumentError("the receipt does not match the agreement");
  }
  HANSE_ASSIGN_OR_RETURN(std::string provider_jws,
                         audit::SignReceipt(receipt, home_->identity.participant_key));
  HANSE_RETURN_IF_ERROR(
      audit::VerifyCoSignedReceipt({provider_jws, req.consumer_jws()},
                                   {n.agreement_id, n.provider_did, n.consumer_did})
          .status());
  {
    std::lock_guard lock(use_mu_);
    auto open = store_->Get(catalog::Family::kContracts, OpenUseKey(n.agreement_id));
    if (open.ok() && open->has_value()) {
      auto j = nlohmann::json::parse(**open, nullptr, false);
      if (j.is_object() &&
          j.value("use", std::int64_t{0}) == static_cast<std::int64_t>(receipt.use)) {
        catalog::WriteBatch batch;
        batch.Delete(catalog::Family::kContracts, OpenUseKey(n.agreement_id));
        HANSE_RETURN_IF_ERROR(store_->Write(batch, true));
      }
    }
  }
  Audit("receipt", n.agreement_id, caller,
        {{"use", receipt.use},
         {"bytes", receipt.bytes},
         {"provider_jws", provider_jws},
         {"consumer_jws", req.consumer_jws()}});
  hanse::v1::AcknowledgeResponse resp;
  resp.set_provider_jws(provider_jws);
  return resp;
}

absl::Status Exchange::ReportDuty(const std::string& caller,
                                  const hanse::v1::ReportDutyRequest& req) {
  HANSE_ASSIGN_OR_RETURN(contract::DutyReceipt r,
                         contract::VerifyDutyReceipt(req.duty_receipt_jws()), "duty receipt");
  if (r.executor_did != caller) {
    return absl::PermissionDeniedError("the duty receipt is not signed by the caller");
  }
  HANSE_ASSIGN_OR_RETURN(Negotiation n, contracts_.GetByAgreement(Role::kProvider, r.agreement_id));
  if (n.consumer_did != caller) {
    return absl::PermissionDeniedError("the caller is not this agreement's consumer");
  }
  Audit("duty.reported", r.agreement_id, caller,
        {{"duty", r.duty_id},
         {"kind", r.kind},
         {"result", r.result},
         {"receipt", req.duty_receipt_jws()}});
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------------------------
// Consumer side.

absl::StatusOr<hanse::v1::ContractInfo> Exchange::RequestContract(
    const hanse::v1::RequestContractRequest& req) {
  const absl::Time now = Clock::Real().Now();
  HANSE_ASSIGN_OR_RETURN(catalog::StoredDocument ds, catalog_->Get(req.dataset_id()),
                         "dataset (search the catalogue for its id)");
  HANSE_ASSIGN_OR_RETURN(catalog::Document doc, DecodeStored(ds));
  if (doc.kind != catalog::DocumentKind::kDataset) {
    return absl::InvalidArgumentError(absl::StrCat(req.dataset_id(), " is not a dataset"));
  }
  if (doc.issuer == home_->identity.did) {
    return absl::InvalidArgumentError("this node provides that dataset itself");
  }
  auto provider = peers_->Find(doc.issuer);
  if (!provider) {
    return absl::FailedPreconditionError(
        absl::StrCat("the provider ", doc.issuer, " is not a trusted member"));
  }
  contract::NegotiationStart start;
  start.id = req.request_id().empty() ? NewUuid() : req.request_id();
  start.provider_did = doc.issuer;
  start.consumer_did = home_->identity.did;
  start.dataset_id = doc.id;
  start.dataset_version = doc.sequence;
  start.content_digest = doc.dataset.sha256;
  start.policy_json = doc.dataset.policy_json;
  start.purpose = ExpandIri(req.purpose());
  HANSE_ASSIGN_OR_RETURN(Negotiation n, contracts_.BeginConsumerNegotiation(start, now));
  if (contract::IsFinal(n.state)) return Info(n);
  Audit("negotiation.requested", n.id, home_->identity.did,
        {{"provider", n.provider_did}, {"dataset", n.dataset_id}, {"purpose", n.purpose}});

  auto* stub = channels_->For(*provider);
  hanse::v1::NegotiateRequest nreq;
  nreq.set_request_id(n.id);
  nreq.set_dataset_id(n.dataset_id);
  nreq.set_purpose(start.purpose);
  for (const auto& c : req.purpose_classes()) nreq.add_purpose_classes(ExpandIri(c));
  nreq.set_consumer_card_jws(card_());
  hanse::v1::NegotiateResponse nresp;
  if (n.state == State::kRequested) {
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + kCallDeadline));
    HANSE_RETURN_IF_ERROR(
        FromGrpc(stub->Negotiate(&ctx, nreq, &nresp)),
        absl::StrCat("negotiating with ", provider->endpoint,
                     " (the request stays REQUESTED; retry with --request-id ", n.id, ")"));
    if (!nresp.provider_card_jws().empty()) {
      HANSE_RETURN_IF_ERROR(StoreCard(n.provider_did, nresp.provider_card_jws()));
    }
    if (nresp.state() == "TERMINATED") {
      Audit("decision.deny", n.id, n.provider_did,
            {{"stage", "negotiation"}, {"reason", nresp.reason()}});
      HANSE_ASSIGN_OR_RETURN(
          n, contracts_.Terminate(Role::kConsumer, n.id,
                                  absl::StrCat("denied by the provider: ", nresp.reason()),
                                  Clock::Real().Now()));
      HANSE_ASSIGN_OR_RETURN(auto info, Info(n));
      info.set_trace_json(nresp.trace_json());
      return info;
    }
    if (nresp.agreement_jws().empty()) {
      return absl::InternalError(
          absl::StrCat("the provider answered ", nresp.state(), " without an agreement"));
    }
    HANSE_ASSIGN_OR_RETURN(
        n, contracts_.ReceiveAgreement(n.id, nresp.agreement_jws(), Clock::Real().Now()));
    Audit("negotiation.agreed", n.agreement_id, n.provider_did, {{"negotiation", n.id}});
  }
  if (n.state == State::kAgreed) {
    HANSE_ASSIGN_OR_RETURN(
        n, contracts_.Countersign(n.id, home_->identity.participant_key, Clock::Real().Now()));
  }
  if (n.state == State::kVerified) {
    hanse::v1::CountersignRequest creq;
    creq.set_agreement_id(n.agreement_id);
    creq.set_consumer_jws(n.consumer_token);
    hanse::v1::CountersignResponse cresp;
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + kCallDeadline));
    HANSE_RETURN_IF_ERROR(
        FromGrpc(stub->Countersign(&ctx, creq, &cresp)),
        absl::StrCat("sending the countersignature (retry with --request-id ", n.id, ")"));
    HANSE_ASSIGN_OR_RETURN(n, contracts_.Finalize(Role::kConsumer, n.id, Clock::Real().Now()));
    Audit("negotiation.finalized", n.agreement_id, home_->identity.did, {{"negotiation", n.id}});
  }
  HANSE_ASSIGN_OR_RETURN(auto info, Info(n));
  if (info.trace_json().empty()) info.set_trace_json(nresp.trace_json());
  return info;
}

absl::Status Exchange::ScheduleDuties(const Negotiation& n, std::int64_t use,
                                      const std::string& out_path, absl::Time start) {
  HANSE_ASSIGN_OR_RETURN(contract::Agreement agreement,
                         contract::VerifyProviderAgreement(n.provider_token));
  HANSE_ASSIGN_OR_RETURN(policy::Policy pol, policy::ParsePolicy(agreement.policy_json));
  // The duties of the rule that permits this use, evaluated with what this node knows about
  // itself (the provider decided the permit; this only reads off what the use obliges).
  hanse::v1::NegotiateRequest self;
  self.set_dataset_id(n.dataset_id);
  self.set_purpose(n.purpose);
  HANSE_ASSIGN_OR_RETURN(policy::Request r, FactsAbout(n.consumer_did, self, start));
  r.use_count = use - 1;
  r.agreement_start = agreement.issued_at;
  policy::Decision d = policy::Evaluate(pol, r);
  if (!d.permit) {
    log::Warn(
        "the agreement's duties could not be read off (the policy does not permit this "
        "node by its own facts)",
        {{"agreement", n.agreement_id}, {"reason", d.reason}});
  }
  for (size_t i = 0; i < d.duties.size(); ++i) {
    const policy::Duty& duty = d.duties[i];
    contract::Duty cd;
    cd.id = absl::StrCat(n.agreement_id, "/use-", use, "/duty-", i);
    cd.agreement_id = n.agreement_id;
    cd.due = duty.due.value_or(start);
    if (duty.action == "delete") {
      cd.kind = contract::DutyKind::kDelete;
      cd.path = out_path;
    } else if (duty.action == "inform" || duty.action == "notify") {
      cd.kind = contract::DutyKind::kNotify;
      cd.recipient = n.provider_did;
    } else {
      continue;
    }
    HANSE_RETURN_IF_ERROR(duties_.Schedule(cd, start).status());
    Audit("duty.scheduled", n.agreement_id, home_->identity.did,
          {{"duty", cd.id},
           {"kind", contract::DutyKindName(cd.kind)},
           {"due", Rfc3339(cd.due)},
           {"summary", duty.summary}});
  }
  return absl::OkStatus();
}

absl::Status Exchange::FetchData(const hanse::v1::FetchDataRequest& req,
                                 const ProgressSink& progress) {
  HANSE_ASSIGN_OR_RETURN(Negotiation n,
                         contracts_.GetByAgreement(Role::kConsumer, req.agreement_id()));
  if (n.state != State::kFinalized) {
    return absl::FailedPreconditionError(
        absl::StrCat("agreement ", n.agreement_id, " is ", contract::StateName(n.state)));
  }
  if (req.out().empty() || req.out()[0] != '/') {
    return absl::InvalidArgumentError("--out must be an absolute path");
  }
  auto provider = peers_->Find(n.provider_did);
  if (!provider) {
    return absl::FailedPreconditionError(
        absl::StrCat("the provider ", n.provider_did, " is not a trusted member"));
  }
  const std::string part = req.out() + ".part";
  Sha256Stream sha;
  std::uint64_t offset = 0;
  int flags = O_WRONLY | O_CREAT | O_CLOEXEC;
  if (req.resume() && PathExists(part)) {
    // Resume from the bytes already on disk, re-hashing them.
    std::ifstream in(part, std::ios::binary);
    std::string buf(kChunkBytes, '\0');
    while (in) {
      in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
      std::streamsize got = in.gcount();
      if (got <= 0) break;
      sha.Update(absl::string_view(buf.data(), static_cast<size_t>(got)));
      offset += static_cast<std::uint64_t>(got);
    }
  } else {
    flags |= O_TRUNC;
  }
  int fd = ::open(part.c_str(), flags, 0600);
  if (fd < 0) return absl::PermissionDeniedError(absl::StrCat("cannot write ", part));
  if (::lseek(fd, static_cast<off_t>(offset), SEEK_SET) < 0) {
    ::close(fd);
    return absl::InternalError("seek failed");
  }
  hanse::v1::FetchRequest freq;
  freq.set_agreement_id(n.agreement_id);
  freq.set_offset(offset);
  grpc::ClientContext ctx;
  auto reader = channels_->For(*provider)->Fetch(&ctx, freq);
  hanse::v1::FetchChunk chunk;
  hanse::v1::FetchProgress p;
  p.set_received_bytes(offset);
  std::uint64_t use = 0;
  std::string expected_sha;
  const absl::Time started = absl::Now();
  const std::uint64_t start_offset = offset;
  absl::Status failure = absl::OkStatus();
  absl::Time next_progress = absl::InfinitePast();
  while (reader->Read(&chunk)) {
    if (chunk.total_bytes() > 0 || !chunk.sha256().empty()) {
      p.set_total_bytes(chunk.total_bytes());
      expected_sha = chunk.sha256();
      use = chunk.use_number();
      p.set_use_number(use);
    }
    const std::string& data = chunk.data();
    size_t done = 0;
    while (done < data.size()) {
      ssize_t w = ::write(fd, data.data() + done, data.size() - done);
      if (w <= 0) {
        failure = absl::ResourceExhaustedError(absl::StrCat("writing ", part, " failed"));
        break;
      }
      done += static_cast<size_t>(w);
    }
    if (!failure.ok()) {
      ctx.TryCancel();
      break;
    }
    sha.Update(data);
    p.set_received_bytes(p.received_bytes() + data.size());
    if (req.max_rate() > 0) {  // bandwidth cap: the stream's flow control slows the provider
      absl::Time due =
          started + absl::Seconds(static_cast<double>(p.received_bytes() - start_offset) /
                                  static_cast<double>(req.max_rate()));
      if (due > absl::Now()) absl::SleepFor(due - absl::Now());
    }
    if (absl::Now() >= next_progress) {
      progress(p);
      next_progress = absl::Now() + absl::Milliseconds(200);
    }
  }
  grpc::Status st = reader->Finish();
  ::fsync(fd);
  ::close(fd);
  if (!failure.ok()) return failure;
  if (!st.ok()) {
    Audit("transfer.interrupted", n.agreement_id, home_->identity.did,
          {{"received", p.received_bytes()}, {"error", st.error_message()}});
    return absl::Status(FromGrpc(st).code(),
                        absl::StrCat(st.error_message(), " (", p.received_bytes(),
                                     " bytes kept in ", part, "; --resume continues)"));
  }
  // The content must be what the signed self-description promised.
  const std::string got = sha.HexDigest();
  if (got != n.content_digest) {
    ::unlink(part.c_str());
    Audit("transfer.rejected", n.agreement_id, home_->identity.did,
          {{"expected", n.content_digest}, {"got", got}});
    return absl::DataLossError(absl::StrCat("content digest mismatch: expected ", n.content_digest,
                                            ", got ", got, "; the partial file was removed"));
  }
  if (::rename(part.c_str(), req.out().c_str()) != 0) {
    return absl::InternalError(absl::StrCat("cannot move ", part, " to ", req.out()));
  }
  const absl::Time now = Clock::Real().Now();
  Audit("transfer.completed", n.agreement_id, home_->identity.did,
        {{"use", use}, {"bytes", p.received_bytes()}, {"sha256", got}, {"out", req.out()}});
  // The use receipt, signed by both.
  audit::Receipt receipt;
  receipt.agreement_id = n.agreement_id;
  receipt.action = "transfer";
  receipt.use = use;
  receipt.dataset_id = n.dataset_id;
  receipt.content_digest = absl::StrCat("sha256:", got);
  receipt.bytes = p.received_bytes();
  receipt.time = absl::FromUnixSeconds(absl::ToUnixSeconds(now));
  HANSE_ASSIGN_OR_RETURN(std::string consumer_jws,
                         audit::SignReceipt(receipt, home_->identity.participant_key));
  hanse::v1::AcknowledgeRequest areq;
  areq.set_agreement_id(n.agreement_id);
  areq.set_consumer_jws(consumer_jws);
  hanse::v1::AcknowledgeResponse aresp;
  grpc::ClientContext actx;
  actx.set_deadline(absl::ToChronoTime(absl::Now() + kCallDeadline));
  absl::Status acked = FromGrpc(channels_->For(*provider)->Acknowledge(&actx, areq, &aresp));
  if (acked.ok()) {
    auto verified = audit::VerifyCoSignedReceipt({aresp.provider_jws(), consumer_jws},
                                                 {n.agreement_id, n.provider_did, n.consumer_did});
    if (verified.ok()) {
      Audit("receipt", n.agreement_id, home_->identity.did,
            {{"use", use},
             {"bytes", receipt.bytes},
             {"provider_jws", aresp.provider_jws()},
             {"consumer_jws", consumer_jws}});
    } else {
      log::Warn("the provider's receipt signature does not verify",
                {{"error", verified.status().ToString()}});
    }
  } else {
    log::Warn("the provider did not acknowledge the receipt", {{"error", acked.ToString()}});
  }
  HANSE_RETURN_IF_ERROR(ScheduleDuties(n, static_cast<std::int64_t>(use), req.out(), now));
  p.set_done(true);
  p.set_sha256(got);
  p.set_message(absl::StrCat("verified SHA-256 ", got));
  progress(p);
  return absl::OkStatus();
}

std::vector<std::string> Exchange::RunDueDuties() {
  std::lock_guard lock(duty_mu_);
  std::vector<std::string> out;
  const absl::Time now = Clock::Real().Now();
  auto due = duties_.Due(now);
  if (!due.ok()) return {absl::StrCat("listing duties failed: ", due.status().ToString())};
  for (const auto& duty : *due) {
    std::string result;
    if (duty.kind == contract::DutyKind::kDelete) {
      std::filesystem::path p(duty.path);
      auto deleted = contract::ExecuteDeleteDuty(p.parent_path().string(), duty.path);
      if (!deleted.ok()) {
        out.push_back(absl::StrCat(duty.id, ": failed: ", deleted.status().ToString()));
        continue;
      }
      result = *deleted;
    } else {
      result = "provider notified";
    }
    auto done = duties_.MarkDone(duty.id, result, now);
    if (!done.ok()) {
      out.push_back(absl::StrCat(duty.id, ": ", done.status().ToString()));
      continue;
    }
    Audit("duty.executed", duty.agreement_id, home_->identity.did,
          {{"duty", duty.id}, {"kind", contract::DutyKindName(duty.kind)}, {"result", result}});
    // The signed receipt goes to the provider (best effort; it is in our audit log either way).
    auto receipt = contract::ReceiptFor(*done, home_->identity.did);
    if (receipt.ok()) {
      auto jws = contract::SignDutyReceipt(*receipt, home_->identity.participant_key);
      auto n = contracts_.GetByAgreement(Role::kConsumer, duty.agreement_id);
      if (jws.ok() && n.ok()) {
        if (auto provider = peers_->Find(n->provider_did)) {
          hanse::v1::ReportDutyRequest rreq;
          rreq.set_duty_receipt_jws(*jws);
          hanse::v1::ReportDutyResponse rresp;
          grpc::ClientContext ctx;
          ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
          grpc::Status st = channels_->For(*provider)->ReportDuty(&ctx, rreq, &rresp);
          if (!st.ok()) {
            log::Warn("duty receipt not delivered",
                      {{"duty", duty.id}, {"error", st.error_message()}});
          }
        }
      }
    }
    out.push_back(absl::StrCat(duty.id, ": ", result));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Both sides.

absl::StatusOr<hanse::v1::ListContractsResponse> Exchange::ListContracts(
    const hanse::v1::ListContractsRequest& req) {
  std::optional<Role> role;
  if (!req.role().empty()) {
    HANSE_ASSIGN_OR_RETURN(Role r, contract::ParseRole(req.role()));
    role = r;
  }
  size_t limit = req.limit() == 0 ? 100 : std::min<size_t>(req.limit(), 1000);
  HANSE_ASSIGN_OR_RETURN(auto list, contracts_.List(role, limit));
  hanse::v1::ListContractsResponse resp;
  for (const auto& n : list) {
    HANSE_ASSIGN_OR_RETURN(*resp.add_contracts(), Info(n));
  }
  return resp;
}

absl::StatusOr<hanse::v1::ContractInfo> Exchange::GetContract(const std::string& id) {
  for (Role role : {Role::kConsumer, Role::kProvider}) {
    auto n = contracts_.Get(role, id);
    if (!n.ok()) n = contracts_.GetByAgreement(role, id);
    if (n.ok()) return Info(*n);
  }
  return absl::NotFoundError(absl::StrCat("no negotiation or agreement ", id));
}

absl::StatusOr<hanse::v1::IssueCredentialResponse> Exchange::IssueCredential(
    const hanse::v1::IssueCredentialRequest& req, std::string* jws) {
  const absl::Time now = Clock::Real().Now();
  absl::Time until = absl::InfiniteFuture();
  if (!req.valid_until().empty()) {
    std::string err;
    if (!absl::ParseTime(absl::RFC3339_full, req.valid_until(), &until, &err)) {
      return absl::InvalidArgumentError("--valid-until must be an RFC 3339 date-time");
    }
  }
  // The sequence is assigned, signed and stored in one step (never two credentials at one).
  auto sign = [&](std::uint64_t seq) -> absl::StatusOr<std::string> {
    catalog::Document doc =
        catalog::CertificationDocument(home_->identity.did, req.subject(), req.certification(), seq,
                                       absl::FromUnixSeconds(absl::ToUnixSeconds(now)), until);
    HANSE_RETURN_IF_ERROR(catalog::ValidateDocument(doc));
    HANSE_ASSIGN_OR_RETURN(*jws, catalog::SignDocument(doc, home_->identity.participant_key));
    return *jws;
  };
  HANSE_ASSIGN_OR_RETURN(catalog::IngestResult r,
                         catalog_->SignAndIngest(home_->identity.did, sign));
  Audit("credential.issued", r.id, home_->identity.did,
        {{"subject", req.subject()},
         {"certification", req.certification()},
         {"valid_until", req.valid_until()}});
  hanse::v1::IssueCredentialResponse resp;
  resp.set_id(r.id);
  resp.set_sequence(r.sequence);
  return resp;
}

absl::StatusOr<hanse::v1::ListAuditResponse> Exchange::ListAudit(
    const hanse::v1::ListAuditRequest& req) {
  std::optional<std::string> subject;
  if (!req.subject().empty()) subject = req.subject();
  size_t limit = req.limit() == 0 ? 100 : std::min<size_t>(req.limit(), 1000);
  HANSE_ASSIGN_OR_RETURN(
      auto entries, audit_->List(std::max<std::uint64_t>(1, req.from_index()), limit, subject));
  hanse::v1::ListAuditResponse resp;
  for (const auto& e : entries) {
    auto* out = resp.add_entries();
    out->set_index(e.index);
    out->set_time(Rfc3339(e.event.time));
    out->set_kind(e.event.kind);
    out->set_subject(e.event.subject);
    out->set_actor(e.event.actor);
    out->set_details_json(e.event.details.dump());
    out->set_hash(trust::HexEncode(e.hash));
  }
  return resp;
}

absl::StatusOr<hanse::v1::VerifyAuditResponse> Exchange::VerifyAudit() {
  HANSE_ASSIGN_OR_RETURN(audit::AuditVerifyReport r, audit_->Verify());
  hanse::v1::VerifyAuditResponse resp;
  resp.set_ok(r.ok);
  resp.set_entries(r.entries);
  resp.set_heads(r.heads);
  resp.set_first_bad_index(r.first_bad_index);
  resp.set_problem(r.problem);
  return resp;
}

absl::StatusOr<std::string> Exchange::ExportEvidence(const std::string& agreement_id) {
  absl::StatusOr<Negotiation> n = contracts_.GetByAgreement(Role::kConsumer, agreement_id);
  if (!n.ok()) n = contracts_.GetByAgreement(Role::kProvider, agreement_id);
  if (!n.ok()) return absl::NotFoundError(absl::StrCat("no agreement ", agreement_id));
  if (n->provider_token.empty() || n->consumer_token.empty()) {
    return absl::FailedPreconditionError("the agreement is not signed by both sides yet");
  }
  audit::EvidenceInputs inputs;
  inputs.agreements = {n->provider_token, n->consumer_token};
  HANSE_ASSIGN_OR_RETURN(std::string provider_card, CardOf(n->provider_did));
  HANSE_ASSIGN_OR_RETURN(std::string consumer_card, CardOf(n->consumer_did));
  inputs.cards = {provider_card, consumer_card};
  // The co-signed receipts this node holds, from its own log.
  HANSE_RETURN_IF_ERROR(audit_->ForEach(1, audit_->size(), [&](const audit::AuditEntry& e) {
    if (e.event.kind == "receipt" && e.event.subject == agreement_id) {
      inputs.receipts.push_back(
          {e.event.details.value("provider_jws", ""), e.event.details.value("consumer_jws", "")});
    }
    return true;
  }));
  return audit::ExportEvidence(*audit_, agreement_id, inputs, Clock::Real().Now());
}

}  // namespace hanse::node
