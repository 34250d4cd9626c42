#include "node/exchange/consumer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/clock.h"
#include "base/file.h"
#include "base/ids.h"
#include "base/log.h"
#include "base/status.h"
#include "node/audit/receipt.h"
#include "node/contract/agreement.h"
#include "node/exchange/pipeline.h"
#include "node/source/unpack.h"
#include "policy/evaluate.h"
#include "policy/policy.h"
#include "trust/encoding.h"
#include "trust/sha256_stream.h"

namespace hanse::node {

using contract::Negotiation;
using contract::Role;
using contract::State;
using namespace exchange_internal;  // NOLINT: this room's own helpers

void Consumer::QueueResume(std::string id) {
  std::lock_guard lock(resume_mu_);
  resume_.push_back(std::move(id));
}

void Consumer::ResumeInterrupted() {
  std::vector<std::string> ids;
  {
    std::lock_guard lock(resume_mu_);
    ids.swap(resume_);
  }
  for (const auto& id : ids) {
    auto n = c_->contracts.Get(Role::kConsumer, id);
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

absl::StatusOr<hanse::v1::ContractInfo> Consumer::RequestContract(
    const hanse::v1::RequestContractRequest& req) {
  const absl::Time now = c_->clock->Now();
  HANSE_ASSIGN_OR_RETURN(catalog::StoredDocument ds, c_->catalog->Get(req.dataset_id()),
                         "dataset (search the catalogue for its id)");
  HANSE_ASSIGN_OR_RETURN(catalog::Document doc, catalog::DecodeDocument(ds));
  if (doc.kind != catalog::DocumentKind::kDataset) {
    return absl::InvalidArgumentError(absl::StrCat(req.dataset_id(), " is not a dataset"));
  }
  if (doc.issuer == c_->self()) {
    return absl::InvalidArgumentError("this node provides that dataset itself");
  }
  auto provider = c_->peers->Find(doc.issuer);
  if (!provider) {
    return absl::FailedPreconditionError(
        absl::StrCat("the provider ", doc.issuer, " is not a trusted member"));
  }
  contract::NegotiationStart start = StartOf(
      doc, req.request_id().empty() ? absl::StrCat("urn:uuid:", NewUuid()) : req.request_id(),
      c_->self(), req.purpose());
  // Each step is stored with its audit entry in one synced batch.
  HANSE_ASSIGN_OR_RETURN(Negotiation n, c_->contracts.BeginConsumerNegotiation(
                                            start, now,
                                            c_->Audited("negotiation.requested", c_->self(),
                                                        {{"provider", start.provider_did},
                                                         {"dataset", start.dataset_id},
                                                         {"purpose", start.purpose}})));
  if (contract::IsFinal(n.state)) return c_->Info(n);

  if (n.state == State::kRequested) HANSE_RETURN_IF_ERROR(c_->EnsureOwnParticipant(now));
  hanse::v1::NegotiateRequest nreq;
  nreq.set_request_id(n.id);
  nreq.set_dataset_id(n.dataset_id);
  nreq.set_purpose(start.purpose);
  for (const auto& c : req.purpose_classes()) nreq.add_purpose_classes(ExpandIri(c));
  nreq.set_consumer_card_jws(c_->card());
  for (auto& d : c_->OwnFacts(now)) nreq.add_consumer_documents(std::move(d));
  hanse::v1::NegotiateResponse nresp;
  if (n.state == State::kRequested) {
    HANSE_RETURN_IF_ERROR(
        peer_->Negotiate(*provider, nreq, &nresp),
        absl::StrCat("negotiating with ", provider->endpoint,
                     " (the request stays REQUESTED; retry with --request-id ", n.id, ")"));
    if (!nresp.provider_card_jws().empty()) {
      HANSE_RETURN_IF_ERROR(c_->StoreCard(n.provider_did, nresp.provider_card_jws()));
    }
    if (nresp.state() == "TERMINATED") {
      HANSE_ASSIGN_OR_RETURN(
          n, c_->contracts.Terminate(
                 Role::kConsumer, n.id, absl::StrCat("denied by the provider: ", nresp.reason()),
                 c_->clock->Now(),
                 c_->Audited("decision.deny", n.provider_did,
                             {{"stage", "negotiation"}, {"reason", nresp.reason()}})));
      HANSE_ASSIGN_OR_RETURN(auto info, c_->Info(n));
      info.set_trace_json(nresp.trace_json());
      return info;
    }
    if (nresp.agreement_jws().empty()) {
      return absl::InternalError(
          absl::StrCat("the provider answered ", nresp.state(), " without an agreement"));
    }
    HANSE_ASSIGN_OR_RETURN(
        n, c_->contracts.ReceiveAgreement(
               n.id, nresp.agreement_jws(), c_->clock->Now(),
               c_->Audited("negotiation.agreed", n.provider_did, {{"negotiation", n.id}})));
  }
  if (n.state == State::kAgreed) {
    HANSE_ASSIGN_OR_RETURN(
        n, c_->contracts.Countersign(n.id, c_->home->identity.participant_key, c_->clock->Now()));
  }
  if (n.state == State::kVerified) {
    hanse::v1::CountersignRequest creq;
    creq.set_agreement_id(n.agreement_id);
    creq.set_consumer_jws(n.consumer_token);
    hanse::v1::CountersignResponse cresp;
    HANSE_RETURN_IF_ERROR(
        peer_->Countersign(*provider, creq, &cresp),
        absl::StrCat("sending the countersignature (retry with --request-id ", n.id, ")"));
    HANSE_ASSIGN_OR_RETURN(
        n, c_->contracts.Finalize(
               Role::kConsumer, n.id, c_->clock->Now(),
               c_->Audited("negotiation.finalized", c_->self(), {{"negotiation", n.id}})));
  }
  HANSE_ASSIGN_OR_RETURN(auto info, c_->Info(n));
  if (info.trace_json().empty()) info.set_trace_json(nresp.trace_json());
  return info;
}

absl::Status Consumer::ScheduleDuties(const Negotiation& n, std::int64_t use,
                                      const std::string& out_path, absl::Time start) {
  HANSE_ASSIGN_OR_RETURN(contract::Agreement agreement,
                         contract::VerifyProviderAgreement(n.provider_token));
  HANSE_ASSIGN_OR_RETURN(policy::Policy pol, policy::ParsePolicy(agreement.policy_json));
  // The duties of the rule that permits this use, evaluated with what this node knows about
  // itself (the provider decided the permit; this only reads off what the use obliges).
  hanse::v1::NegotiateRequest self;
  self.set_dataset_id(n.dataset_id);
  self.set_purpose(n.purpose);
  HANSE_ASSIGN_OR_RETURN(policy::Request r, c_->FactsAbout(n.consumer_did, self, start));
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
    HANSE_RETURN_IF_ERROR(c_->duties.Schedule(cd, start).status());
    c_->Audit("duty.scheduled", n.agreement_id, c_->self(),
              {{"duty", cd.id},
               {"kind", contract::DutyKindName(cd.kind)},
               {"due", Rfc3339(cd.due)},
               {"summary", duty.summary}});
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> Consumer::InboxPath(const Negotiation& n) const {
  // A path component from an id: its own characters where they are plain, else its SHA-256.
  auto component = [](absl::string_view id) {
    const bool plain =
        !id.empty() && id.size() <= 128 && id != "." && id != ".." &&
        std::all_of(id.begin(), id.end(), [](char ch) {
          return absl::ascii_isalnum(ch) || ch == '.' || ch == '_' || ch == '-' || ch == ':';
        });
    return plain ? std::string(id) : trust::HexEncode(trust::Sha256(id)).substr(0, 32);
  };
  const std::string inbox = c_->home->paths.dir + "/inbox";
  const std::string dir = absl::StrCat(inbox, "/", component(n.agreement_id));
  for (const std::string& d : {inbox, dir}) {
    if (::mkdir(d.c_str(), 0700) != 0 && errno != EEXIST) return ErrnoStatus(errno, d);
    struct stat st {};
    if (::lstat(d.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      return absl::FailedPreconditionError(absl::StrCat(d, " is not a directory"));
    }
  }
  const absl::string_view dataset = n.dataset_id;
  const size_t slash = dataset.find_last_of('/');
  return absl::StrCat(
      dir, "/", component(slash == absl::string_view::npos ? dataset : dataset.substr(slash + 1)));
}

absl::Status Consumer::FetchData(const hanse::v1::FetchDataRequest& asked,
                                 const ProgressSink& progress) {
  HANSE_ASSIGN_OR_RETURN(Negotiation n,
                         c_->contracts.GetByAgreement(Role::kConsumer, asked.agreement_id()));
  if (n.state != State::kFinalized) {
    return absl::FailedPreconditionError(
        absl::StrCat("agreement ", n.agreement_id, " is ", contract::StateName(n.state)));
  }
  // Without --out, the node's own inbox: a place it may write whatever its service sandbox,
  // where its delete duties reach.
  hanse::v1::FetchDataRequest req = asked;
  if (req.out().empty()) {
    HANSE_ASSIGN_OR_RETURN(*req.mutable_out(), InboxPath(n));
  }
  if (req.out()[0] != '/') {
    return absl::InvalidArgumentError("--out must be an absolute path");
  }
  auto provider = c_->peers->Find(n.provider_did);
  if (!provider) {
    return absl::FailedPreconditionError(
        absl::StrCat("the provider ", n.provider_did, " is not a trusted member"));
  }
  // The node writes with its own rights: never into its home (but for HOME/fetched, where
  // token holders' fetches land), never over a directory that holds the home, never a path
  // whose last component is empty.
  if (req.out().back() == '/' || req.out() == "/") {
    return absl::InvalidArgumentError("--out must name a file or directory, not end with /");
  }
  {
    const std::string out = std::filesystem::path(req.out()).lexically_normal().string();
    const std::string home = std::filesystem::path(c_->home->paths.dir).lexically_normal().string();
    auto within = [](const std::string& a, const std::string& b) {
      return a == b || absl::StartsWith(a, absl::StrCat(b, "/"));
    };
    if ((within(out, home) && !within(out, home + "/fetched") && !within(out, home + "/inbox")) ||
        within(home, out)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--out ", req.out(), " is inside (or holds) the node's home; choose a path outside it"));
    }
  }
  // What is already there is never replaced unasked (and a refusal costs no use).
  struct stat existing {};
  const bool out_exists = ::lstat(req.out().c_str(), &existing) == 0;
  if (out_exists && !req.force()) {
    return absl::AlreadyExistsError(
        absl::StrCat(req.out(), " exists; pass --force to replace it, or choose another --out"));
  }
  const std::string part = req.out() + ".part";
  trust::Sha256Stream sha;
  std::uint64_t offset = 0;
  int flags = O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW;
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
  hanse::v1::FetchProgress p;
  p.set_received_bytes(offset);
  p.set_out(req.out());
  std::uint64_t use = 0;
  const Stopwatch started;
  const std::uint64_t start_offset = offset;
  absl::Status failure = absl::OkStatus();
  Stopwatch since_progress;
  bool progress_shown = false;
  const absl::Duration idle_timeout =
      absl::Seconds(req.idle_timeout_seconds() > 0 ? req.idle_timeout_seconds()
                                                   : c_->home->config.fetch_idle_timeout_seconds);
  CountedTransfer counted(&c_->received);
  // The received bytes are written and hashed on a thread of their own while the next chunk
  // arrives; the file is flushed once at the end.
  PartWriter writer(fd, part, offset, &sha);
  absl::Status streamed =
      peer_->Fetch(*provider, freq, idle_timeout, [&](hanse::v1::FetchChunk& chunk) {
        const size_t size = chunk.data().size();
        if (p.total_bytes() > 0 && p.received_bytes() + size > p.total_bytes()) {
          failure = absl::DataLossError("the provider sent more bytes than it announced");
          return false;
        }
        if (chunk.use_number() > 0) {  // the first chunk
          p.set_total_bytes(chunk.total_bytes());
          use = chunk.use_number();
          p.set_use_number(use);
        }
        if (!writer.Add(chunk.mutable_data())) {
          failure = writer.error();
          return false;
        }
        c_->received.bytes += size;
        p.set_received_bytes(p.received_bytes() + size);
        if (req.max_rate() > 0) {  // bandwidth cap: the stream's flow control slows the provider
          absl::Duration due =
              absl::Seconds(static_cast<double>(p.received_bytes() - start_offset) /
                            static_cast<double>(req.max_rate()));
          absl::Duration ahead = due - started.Elapsed();
          if (ahead > absl::ZeroDuration()) absl::SleepFor(ahead);
        }
        if (!progress_shown || since_progress.Elapsed() >= absl::Milliseconds(200)) {
          if (!progress(p)) {
            failure = absl::CancelledError(
                absl::StrCat("the fetch was abandoned by its requester (", p.received_bytes(),
                             " bytes kept in ", part, "; --resume continues)"));
            return false;
          }
          since_progress.Reset();
          progress_shown = true;
        }
        return true;
      });
  if (absl::Status flushed = writer.Finish(); failure.ok() && !flushed.ok()) failure = flushed;
  // What is on disk (after a failed write, less than what arrived): what --resume continues from.
  struct stat written {};
  const std::uint64_t kept =
      ::fstat(fd, &written) == 0 ? static_cast<std::uint64_t>(written.st_size) : p.received_bytes();
  ::close(fd);
  if (!failure.ok()) {
    c_->Audit("transfer.interrupted", n.agreement_id, c_->self(),
              {{"received", kept}, {"error", std::string(failure.message())}});
    return failure;
  }
  if (!streamed.ok()) {
    c_->Audit("transfer.interrupted", n.agreement_id, c_->self(),
              {{"received", kept}, {"error", std::string(streamed.message())}});
    return absl::Status(streamed.code(),
                        absl::StrCat(streamed.message(), " (", kept, " bytes kept in ", part,
                                     "; --resume continues)"));
  }
  // The content must be what the signed self-description promised; a live distribution's
  // bytes are named by the receipt instead (the provider recorded what it sent).
  const std::string got = sha.HexDigest();
  std::optional<catalog::DatasetFacts> held_facts;
  if (auto held = c_->catalog->Get(n.dataset_id); held.ok()) {
    if (auto doc = catalog::DecodeDocument(*held);
        doc.ok() && doc->dataset.sha256 == n.content_digest) {
      held_facts = doc->dataset;
    }
  }
  const bool live = held_facts && held_facts->live;
  if (!live && got != n.content_digest) {
    ::unlink(part.c_str());
    c_->Audit("transfer.rejected", n.agreement_id, c_->self(),
              {{"expected", n.content_digest}, {"got", got}});
    return absl::DataLossError(absl::StrCat("content digest mismatch: expected ", n.content_digest,
                                            ", got ", got, "; the partial file was removed"));
  }
  // A tree (a directory, an S3 prefix) arrives as one tar stream; it is unpacked into --out and
  // its manifest checked against the signed root digest.
  std::optional<catalog::DatasetFacts> tree;
  if (held_facts && held_facts->distribution_kind == "directory") tree = held_facts;
  if (tree) {
    // Unpacked beside --out first: with --force, the old tree makes way only for a good one.
    const std::string fresh = req.out() + ".unpacking";
    std::error_code ec;
    std::filesystem::remove_all(fresh, ec);
    absl::Status unpacked = source::UnpackTree(part, fresh, tree->root_digest, tree->file_count);
    if (unpacked.ok() && out_exists) {
      const std::string old = req.out() + ".replaced";
      std::filesystem::remove_all(old, ec);
      if (::rename(req.out().c_str(), old.c_str()) != 0) {
        unpacked = absl::InternalError(absl::StrCat("cannot move the old ", req.out(), " aside"));
      } else {
        std::filesystem::remove_all(old, ec);
      }
    }
    if (unpacked.ok() && ::rename(fresh.c_str(), req.out().c_str()) != 0) {
      unpacked = absl::InternalError(absl::StrCat("cannot move ", fresh, " to ", req.out()));
    }
    if (!unpacked.ok()) std::filesystem::remove_all(fresh, ec);
    if (!unpacked.ok()) {
      c_->Audit("transfer.rejected", n.agreement_id, c_->self(),
                {{"expected", n.content_digest}, {"reason", std::string(unpacked.message())}});
      return absl::Status(unpacked.code(), absl::StrCat(unpacked.message(),
                                                        " (the received tree "
                                                        "is kept in ",
                                                        part, ")"));
    }
    ::unlink(part.c_str());
  } else if (::rename(part.c_str(), req.out().c_str()) != 0) {
    return absl::InternalError(absl::StrCat("cannot move ", part, " to ", req.out()));
  }
  const absl::Time now = c_->clock->Now();
  c_->Audit("transfer.completed", n.agreement_id, c_->self(),
            {{"use", use}, {"bytes", p.received_bytes()}, {"sha256", got}, {"out", req.out()}});
  counted.Completed();
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
                         audit::SignReceipt(receipt, c_->home->identity.participant_key));
  hanse::v1::AcknowledgeRequest areq;
  areq.set_agreement_id(n.agreement_id);
  areq.set_consumer_jws(consumer_jws);
  hanse::v1::AcknowledgeResponse aresp;
  absl::Status acked = peer_->Acknowledge(*provider, areq, &aresp);
  if (acked.ok()) {
    auto verified = audit::VerifyCoSignedReceipt({aresp.provider_jws(), consumer_jws},
                                                 {n.agreement_id, n.provider_did, n.consumer_did});
    if (verified.ok()) {
      c_->Audit("receipt", n.agreement_id, c_->self(),
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
  if (live) {
    p.set_message(
        absl::StrCat("live data: its SHA-256 ", got, " is named in the receipt both sides signed"));
  } else if (tree) {
    p.set_message(absl::StrCat("SHA-256 ", got, " matches the signed self-description; ",
                               tree->file_count, " files unpacked, their manifest checked"));
  } else {
    p.set_message(absl::StrCat("SHA-256 ", got, " matches the signed self-description"));
  }
  progress(p);
  return absl::OkStatus();
}

std::vector<std::string> Consumer::RunDueDuties() {
  std::lock_guard lock(duty_mu_);
  std::vector<std::string> out;
  const absl::Time now = c_->clock->Now();
  auto due = c_->duties.Due(now);
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
    auto done = c_->duties.MarkDone(duty.id, result, now);
    if (!done.ok()) {
      out.push_back(absl::StrCat(duty.id, ": ", done.status().ToString()));
      continue;
    }
    c_->Audit("duty.executed", duty.agreement_id, c_->self(),
              {{"duty", duty.id}, {"kind", contract::DutyKindName(duty.kind)}, {"result", result}});
    // The signed receipt goes to the provider (best effort; it is in our audit log either way).
    auto receipt = contract::ReceiptFor(*done, c_->self());
    if (receipt.ok()) {
      auto jws = contract::SignDutyReceipt(*receipt, c_->home->identity.participant_key);
      auto n = c_->contracts.GetByAgreement(Role::kConsumer, duty.agreement_id);
      if (jws.ok() && n.ok()) {
        if (auto provider = c_->peers->Find(n->provider_did)) {
          hanse::v1::ReportDutyRequest rreq;
          rreq.set_duty_receipt_jws(*jws);
          absl::Status st = peer_->ReportDuty(*provider, rreq);
          if (!st.ok()) {
            log::Warn("duty receipt not delivered", {{"duty", duty.id}, {"error", st.ToString()}});
          }
        }
      }
    }
    out.push_back(absl::StrCat(duty.id, ": ", result));
  }
  return out;
}

}  // namespace hanse::node
