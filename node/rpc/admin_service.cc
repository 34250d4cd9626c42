// The admin service on the node's private unix socket: what the `hanse` CLI asks of its node
// (status, peers, catalogue, membership). Full error messages are fine here: the caller is
// the local operator. (~630 lines: one handler class per admin group sharing the node's parts;
// the next step is a file per group behind narrow interfaces.)
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <map>
#include <set>
#include <thread>

#include "absl/random/random.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/status.h"
#include "catalog/catalog.h"
#include "catalog/dcat.h"
#include "catalog/query.h"
#include "hanse/v1/admin.grpc.pb.h"
#include "hanse/v1/federation.grpc.pb.h"
#include "node/daemon/version.h"
#include "node/publishing/publishing.h"
#include "node/rpc/channels.h"
#include "node/rpc/services.h"
#include "trust/did_key.h"
#include "trust/jws.h"

namespace hanse::node {

std::string NewRequestId() {
  static absl::BitGen* gen = new absl::BitGen();
  static std::mutex mu;
  std::lock_guard lock(mu);
  return absl::StrFormat("%016x", absl::Uniform<std::uint64_t>(*gen));
}

void ToProto(const MemberCard& card, hanse::v1::Peer* out) {
  out->set_did(card.did);
  out->set_endpoint(card.endpoint);
  out->set_legal_name(card.legal_name);
  out->set_country(card.country);
}

namespace {

class AdminService final : public hanse::v1::Admin::Service {
 public:
  explicit AdminService(const NodeParts* node) : node_(node) {}

  grpc::Status GetStatus(grpc::ServerContext*, const hanse::v1::GetStatusRequest*,
                         hanse::v1::GetStatusResponse* response) override {
    const Home& home = *node_->home;
    response->set_did(home.identity.did);
    response->set_listen(node_->listen_address);
    response->set_legal_name(home.config.legal_name);
    response->set_country(home.config.country);
    for (const auto& card : node_->peers->List()) ToProto(card, response->add_peers());
    response->set_uptime_seconds(absl::ToInt64Seconds(node_->clock->Now() - node_->started));
    response->set_store_bytes(node_->store->DiskBytes());
    response->set_version(kVersion);
    if (auto flagged = node_->catalog->FlaggedIssuers(); flagged.ok()) {
      for (auto& did : *flagged) response->add_equivocators(std::move(did));
    }
    if (auto heads = node_->catalog->Heads(); heads.ok()) {
      auto own = heads->find(home.identity.did);
      response->set_own_sequence_held(own == heads->end() ? 0 : own->second);
    }
    response->set_own_sequence_signed(node_->sequences->Highest(home.identity.did));
    return grpc::Status::OK;
  }

  grpc::Status GetCard(grpc::ServerContext*, const hanse::v1::GetCardRequest*,
                       hanse::v1::GetCardResponse* response) override {
    response->set_card_jws(node_->card());
    return grpc::Status::OK;
  }

  grpc::Status AddPeer(grpc::ServerContext*, const hanse::v1::AddPeerRequest* request,
                       hanse::v1::AddPeerResponse* response) override {
    std::string request_id = NewRequestId();
    auto card = VerifyCard(request->card_jws(), node_->clock->Now());
    if (!card.ok()) return ToGrpc(card.status());
    auto added = node_->peers->Add(request->card_jws(), *card);
    if (!added.ok()) return ToGrpc(added.status());
    log::Info(*added ? "peer trusted" : "peer already trusted",
              {{"request_id", request_id}, {"peer", card->did}, {"endpoint", card->endpoint}});
    ToProto(*card, response->mutable_peer());
    response->set_added(*added);
    return grpc::Status::OK;
  }

  grpc::Status ListPeers(grpc::ServerContext*, const hanse::v1::ListPeersRequest*,
                         hanse::v1::ListPeersResponse* response) override {
    for (const auto& card : node_->peers->List()) ToProto(card, response->add_peers());
    return grpc::Status::OK;
  }

  grpc::Status PublishDataset(grpc::ServerContext*, const hanse::v1::PublishDatasetRequest* req,
                              hanse::v1::PublishDatasetResponse* resp) override;
  grpc::Status UnpublishDataset(grpc::ServerContext*, const hanse::v1::UnpublishDatasetRequest* req,
                                hanse::v1::UnpublishDatasetResponse* resp) override;
  grpc::Status ListDatasets(grpc::ServerContext*, const hanse::v1::ListDatasetsRequest* req,
                            hanse::v1::ListDatasetsResponse* resp) override;
  grpc::Status GetDocument(grpc::ServerContext*, const hanse::v1::GetDocumentRequest* req,
                           hanse::v1::GetDocumentResponse* resp) override;
  grpc::Status Search(grpc::ServerContext*, const hanse::v1::SearchRequest* req,
                      hanse::v1::SearchResponse* resp) override;
  grpc::Status ExportCatalog(grpc::ServerContext*, const hanse::v1::ExportCatalogRequest* req,
                             grpc::ServerWriter<hanse::v1::ExportChunk>* writer) override;
  grpc::Status JoinFederation(grpc::ServerContext*, const hanse::v1::JoinFederationRequest* req,
                              hanse::v1::JoinFederationResponse* resp) override;
  grpc::Status ProposeMember(grpc::ServerContext*, const hanse::v1::ProposeMemberRequest* req,
                             hanse::v1::MemberActionResponse* resp) override;
  grpc::Status EndorseMember(grpc::ServerContext*, const hanse::v1::EndorseMemberRequest* req,
                             hanse::v1::MemberActionResponse* resp) override;
  grpc::Status RevokeMember(grpc::ServerContext*, const hanse::v1::RevokeMemberRequest* req,
                            hanse::v1::MemberActionResponse* resp) override;
  grpc::Status ListMembers(grpc::ServerContext*, const hanse::v1::ListMembersRequest* req,
                           hanse::v1::ListMembersResponse* resp) override;

  grpc::Status PingPeer(grpc::ServerContext*, const hanse::v1::PingPeerRequest* request,
                        hanse::v1::PingPeerResponse* response) override {
    std::string request_id = NewRequestId();
    absl::Status status = DoPing(request->target(), response);
    log::Info("peer ping", {{"request_id", request_id},
                            {"target", request->target().substr(0, kMaxTargetBytes)},
                            {"result", status.ok() ? "ok" : status.ToString()}});
    return ToGrpc(status);
  }

 private:
  absl::Status DoPing(const std::string& target, hanse::v1::PingPeerResponse* response) {
    if (target.empty() || target.size() > kMaxTargetBytes) {
      return absl::InvalidArgumentError("target must be a DID or HOST:PORT");
    }
    std::string endpoint;
    std::string expected_did;
    if (absl::StartsWith(target, "did:")) {
      if (!trust::IsDidKey(target)) {
        return absl::InvalidArgumentError(absl::StrCat(target, " is not a did:key DID"));
      }
      auto card = node_->peers->Find(target);
      if (!card) {
        return absl::NotFoundError(
            absl::StrCat(target, " is not a trusted peer (add its card with `hanse peer add`)"));
      }
      endpoint = card->endpoint;
      expected_did = target;
    } else {
      HANSE_RETURN_IF_ERROR(ParseHostPort(target).status());
      endpoint = target;
    }
    auto channel = MemberChannel(node_->home->identity, node_->lookup, endpoint, expected_did,
                                 *node_->clock, {.own_connection = true});
    auto stub = hanse::v1::Federation::NewStub(channel);

    hanse::v1::PingRequest req;
    req.set_nonce(NewRequestId());
    hanse::v1::PingResponse resp;
    // Connect first so the round trip measures the call, not the TLS handshake.
    channel->WaitForConnected(TransportDeadline(kPeerCallDeadline));
    grpc::ClientContext ctx;
    ctx.set_deadline(TransportDeadline(kPeerCallDeadline));
    Stopwatch round_trip;
    absl::Status st = FromGrpc(stub->Ping(&ctx, req, &resp));
    absl::Duration rtt = round_trip.Elapsed();
    if (!st.ok()) {
      return absl::UnavailableError(
          absl::StrCat("ping ", endpoint, " failed: ", st.message(),
                       absl::IsUnavailable(st)
                           ? " (is the node running, and do both sides trust each other's card?)"
                           : ""));
    }
    if (resp.nonce() != req.nonce()) return absl::DataLossError("peer echoed the wrong nonce");
    HANSE_ASSIGN_OR_RETURN(std::string server_did, ServerDid(ctx));
    HANSE_ASSIGN_OR_RETURN(MemberCard card, VerifyCard(resp.card_jws(), node_->clock->Now()),
                           "peer's card");
    if (card.did != server_did) {
      return absl::UnauthenticatedError(absl::StrCat("peer at ", endpoint,
                                                     " presented a certificate for ", server_did,
                                                     " but a card for ", card.did));
    }
    ToProto(card, response->mutable_peer());
    response->set_round_trip_micros(absl::ToInt64Microseconds(rtt));
    response->set_endpoint(endpoint);
    return absl::OkStatus();
  }

  const NodeParts* node_;
};

absl::Status SummarizeInto(const catalog::StoredDocument& stored, hanse::v1::DatasetSummary* out) {
  HANSE_ASSIGN_OR_RETURN(catalog::Document doc, catalog::DecodeDocument(stored));
  const auto& d = doc.dataset;
  out->set_id(doc.id);
  out->set_title(d.title);
  out->set_publisher(d.publisher);
  out->set_issuer(doc.issuer);
  out->set_sequence(doc.sequence);
  out->set_issued(d.issued);
  for (const auto& t : d.themes) out->add_themes(t);
  for (const auto& k : d.keywords) out->add_keywords(k);
  out->set_media_type(d.media_type);
  out->set_byte_size(d.byte_size);
  out->set_language(d.language);
  out->set_license(d.license);
  out->set_hosting_location(d.hosting_location);
  return absl::OkStatus();
}

class CatalogAdmin {
 public:
  explicit CatalogAdmin(const NodeParts* node) : node_(node) {}

  absl::Status Publish(const hanse::v1::PublishDatasetRequest& req,
                       hanse::v1::PublishDatasetResponse* resp) {
    if (req.json().size() > 1 << 20) {
      return absl::ResourceExhaustedError("publish file larger than 1 MiB");
    }
    HANSE_ASSIGN_OR_RETURN(
        auto result, PublishDataset(*node_->home, req.json(), *node_->catalog, node_->clock->Now()));
    resp->set_id(result.id);
    resp->set_sequence(result.sequence);
    resp->set_outcome(std::string(catalog::IngestOutcomeName(result.outcome)));
    if (auto stored = node_->catalog->Get(result.id); stored.ok()) {
      node_->gossip->PushSoon(stored->jws);
    }
    log::Info("dataset published",
              {{"id", result.id}, {"sequence", std::to_string(result.sequence)}});
    return absl::OkStatus();
  }

  absl::Status Unpublish(const hanse::v1::UnpublishDatasetRequest& req,
                         hanse::v1::UnpublishDatasetResponse* resp) {
    HANSE_ASSIGN_OR_RETURN(
        auto result, UnpublishDataset(*node_->home, req.id(), *node_->catalog, node_->clock->Now()));
    resp->set_sequence(result.sequence);
    if (auto stored = node_->catalog->GetAny(req.id()); stored.ok() && stored->has_value()) {
      node_->gossip->PushSoon((*stored)->jws);
    }
    log::Info("dataset unpublished",
              {{"id", req.id()}, {"sequence", std::to_string(result.sequence)}});
    return absl::OkStatus();
  }

  absl::Status List(const hanse::v1::ListDatasetsRequest& req,
                    hanse::v1::ListDatasetsResponse* resp) {
    size_t limit = req.limit() == 0 ? 100 : std::min<size_t>(req.limit(), 1000);
    std::string prefix = req.mine() ? node_->home->identity.did + "/datasets/" : "";
    absl::Status inner = absl::OkStatus();
    std::string last;
    bool more = false;
    HANSE_RETURN_IF_ERROR(node_->catalog->ForEach([&](const catalog::StoredDocument& d) {
      if (d.kind != catalog::DocumentKind::kDataset) return true;
      if (!req.after().empty() && d.id <= req.after()) return true;
      if (!prefix.empty() && !absl::StartsWith(d.id, prefix)) return true;
      if (static_cast<size_t>(resp->datasets_size()) >= limit) {
        more = true;
        return false;
      }
      inner = SummarizeInto(d, resp->add_datasets());
      last = d.id;
      return inner.ok();
    }));
    HANSE_RETURN_IF_ERROR(inner);
    if (more) resp->set_next_after(last);
    return absl::OkStatus();
  }

  absl::Status Get(const hanse::v1::GetDocumentRequest& req, hanse::v1::GetDocumentResponse* resp) {
    HANSE_ASSIGN_OR_RETURN(catalog::StoredDocument d, node_->catalog->Get(req.id()));
    HANSE_ASSIGN_OR_RETURN(auto v, trust::DecodeUnverified(d.jws));
    resp->set_id(d.id);
    resp->set_kind(std::string(catalog::DocumentKindName(d.kind)));
    resp->set_sequence(d.sequence);
    resp->set_jws(d.jws);
    resp->set_payload_json(v.payload);
    return absl::OkStatus();
  }

  absl::Status Search(const hanse::v1::SearchRequest& req, hanse::v1::SearchResponse* resp) {
    size_t limit = req.limit() == 0 ? 10 : req.limit();
    if (req.live()) return LiveSearch(req.query(), std::min<size_t>(limit, 100), resp);
    HANSE_ASSIGN_OR_RETURN(catalog::SearchPage page,
                           node_->catalog->Search(req.query(), limit, req.cursor()));
    for (const auto& hit : page.hits) {
      auto stored = node_->catalog->Get(hit.id);
      if (!stored.ok()) continue;  // unpublished between index read and fetch
      auto* out = resp->add_hits();
      out->set_score(hit.score);
      HANSE_RETURN_IF_ERROR(SummarizeInto(*stored, out->mutable_dataset()));
    }
    resp->set_next_cursor(page.next_cursor);
    resp->set_total_estimate(page.total_estimate);
    return absl::OkStatus();
  }

  // Fans the query out to every member in parallel with a deadline, verifies every returned
  // document itself, merges by best score, and says who answered.
  absl::Status LiveSearch(const std::string& query, size_t limit, hanse::v1::SearchResponse* resp) {
    HANSE_RETURN_IF_ERROR(catalog::ParseQuery(query).status());
    std::vector<MemberCard> members = node_->peers->List();
    struct Answer {
      std::string did;
      absl::Status status;
      hanse::v1::PeerSearchResponse response;
    };
    std::vector<Answer> answers(members.size());
    std::vector<std::thread> threads;
    for (size_t i = 0; i < members.size(); ++i) {
      threads.emplace_back([&, i] {
        const MemberCard& m = members[i];
        answers[i].did = m.did;
        auto stub = hanse::v1::Federation::NewStub(
            MemberChannel(node_->home->identity, node_->lookup, m.endpoint, m.did, *node_->clock,
                          {.own_connection = true}));
        hanse::v1::PeerSearchRequest preq;
        preq.set_query(query);
        preq.set_limit(static_cast<uint32_t>(limit));
        grpc::ClientContext ctx;
        ctx.set_deadline(TransportDeadline(kLiveSearchDeadline));
        answers[i].status = FromGrpc(stub->Search(&ctx, preq, &answers[i].response));
      });
    }
    for (auto& t : threads) t.join();
    // Our own catalogue answers too.
    std::map<std::string, std::pair<double, std::string>> merged;  // id -> (score, jws)
    HANSE_ASSIGN_OR_RETURN(catalog::SearchPage local, node_->catalog->Search(query, limit, ""));
    for (const auto& hit : local.hits) {
      if (auto stored = node_->catalog->Get(hit.id); stored.ok()) {
        merged[hit.id] = {hit.score, stored->jws};
      }
    }
    absl::Time now = node_->clock->Now();
    for (const auto& a : answers) {
      if (!a.status.ok()) {
        resp->add_failed(absl::StrCat(a.did, " (", a.status.message(), ")"));
        continue;
      }
      resp->add_answered(a.did);
      for (const auto& h : a.response.hits()) {
        // Never show a peer's answer unverified.
        auto vd = catalog::VerifyDocument(h.jws(), now);
        if (!vd.ok() || vd->doc.id != h.id() || vd->doc.kind != catalog::DocumentKind::kDataset) {
          continue;
        }
        auto it = merged.find(h.id());
        if (it == merged.end() || it->second.first < h.score())
          merged[h.id()] = {h.score(), h.jws()};
      }
    }
    std::vector<std::pair<double, std::string>> order;
    for (const auto& [id, v] : merged) order.emplace_back(-v.first, id);
    std::sort(order.begin(), order.end());
    for (size_t i = 0; i < order.size() && i < limit; ++i) {
      const auto& [neg_score, id] = order[i];
      auto* out = resp->add_hits();
      out->set_score(-neg_score);
      catalog::StoredDocument sd{catalog::DocumentKind::kDataset, 0, id, merged[id].second, ""};
      HANSE_RETURN_IF_ERROR(SummarizeInto(sd, out->mutable_dataset()));
    }
    resp->set_total_estimate(merged.size());
    return absl::OkStatus();
  }

  absl::Status Export(const hanse::v1::ExportCatalogRequest& req,
                      grpc::ServerWriter<hanse::v1::ExportChunk>* writer) {
    bool dcat = req.format() == "dcat";
    if (!dcat && req.format() != "jws") {
      return absl::InvalidArgumentError("format must be dcat or jws");
    }
    std::string buffer;
    bool first = true;
    auto flush = [&](bool force) {
      if (buffer.size() < (256u << 10) && !force) return true;
      hanse::v1::ExportChunk chunk;
      chunk.set_data(std::move(buffer));
      buffer.clear();
      return writer->Write(chunk);
    };
    if (dcat) buffer = catalog::DcatCatalogHead(node_->home->identity.did);
    absl::Status inner = absl::OkStatus();
    bool ok = true;
    HANSE_RETURN_IF_ERROR(node_->catalog->ForEach([&](const catalog::StoredDocument& d) {
      if (!dcat) {
        absl::StrAppend(&buffer, d.jws, "\n");
      } else if (d.kind == catalog::DocumentKind::kDataset) {
        auto doc = catalog::DecodeDocument(d);
        if (!doc.ok()) return (inner = doc.status()).ok();
        absl::StrAppend(&buffer, first ? "    " : ",\n    ", catalog::DcatDataset(*doc));
        first = false;
      }
      ok = flush(false);
      return ok;
    }));
    HANSE_RETURN_IF_ERROR(inner);
    if (!ok) return absl::CancelledError("the client went away");
    if (dcat) absl::StrAppend(&buffer, catalog::DcatCatalogTail());
    flush(true);
    return absl::OkStatus();
  }

 private:
  const NodeParts* node_;
};

grpc::Status AdminService::PublishDataset(grpc::ServerContext*,
                                          const hanse::v1::PublishDatasetRequest* req,
                                          hanse::v1::PublishDatasetResponse* resp) {
  return ToGrpc(CatalogAdmin(node_).Publish(*req, resp));
}
grpc::Status AdminService::UnpublishDataset(grpc::ServerContext*,
                                            const hanse::v1::UnpublishDatasetRequest* req,
                                            hanse::v1::UnpublishDatasetResponse* resp) {
  return ToGrpc(CatalogAdmin(node_).Unpublish(*req, resp));
}
grpc::Status AdminService::ListDatasets(grpc::ServerContext*,
                                        const hanse::v1::ListDatasetsRequest* req,
                                        hanse::v1::ListDatasetsResponse* resp) {
  return ToGrpc(CatalogAdmin(node_).List(*req, resp));
}
grpc::Status AdminService::GetDocument(grpc::ServerContext*,
                                       const hanse::v1::GetDocumentRequest* req,
                                       hanse::v1::GetDocumentResponse* resp) {
  return ToGrpc(CatalogAdmin(node_).Get(*req, resp));
}
grpc::Status AdminService::Search(grpc::ServerContext*, const hanse::v1::SearchRequest* req,
                                  hanse::v1::SearchResponse* resp) {
  return ToGrpc(CatalogAdmin(node_).Search(*req, resp));
}
grpc::Status AdminService::ExportCatalog(grpc::ServerContext*,
                                         const hanse::v1::ExportCatalogRequest* req,
                                         grpc::ServerWriter<hanse::v1::ExportChunk>* writer) {
  return ToGrpc(CatalogAdmin(node_).Export(*req, writer));
}

class MembershipAdmin {
 public:
  explicit MembershipAdmin(const NodeParts* node) : node_(node) {}

  absl::Status Join(const hanse::v1::JoinFederationRequest& req,
                    hanse::v1::JoinFederationResponse* resp) {
    absl::Time now = node_->clock->Now();
    HANSE_ASSIGN_OR_RETURN(Charter charter, ParseCharter(req.charter(), now, true));
    HANSE_RETURN_IF_ERROR(node_->membership->Join(charter));
    if (!req.bootstrap().empty()) {
      HANSE_RETURN_IF_ERROR(ParseHostPort(req.bootstrap()).status(), "--bootstrap");
      // The bootstrap node may itself still be catching up on the newest records: ask again
      // briefly before reporting that this node is not (yet) a member.
      for (int attempt = 0; attempt < 5; ++attempt) {
        HANSE_RETURN_IF_ERROR(node_->gossip->FetchMembership(req.bootstrap()));
        if (node_->membership->state().members.count(node_->home->identity.did)) break;
        absl::SleepFor(absl::Milliseconds(300));
      }
    }
    node_->gossip->SyncSoon();
    MembershipState state = node_->membership->state();
    resp->set_federation_id(charter.id);
    resp->set_name(charter.name);
    resp->set_members(static_cast<uint32_t>(state.members.size()));
    resp->set_member(state.members.count(node_->home->identity.did) > 0);
    log::Info("joined federation", {{"federation", charter.id},
                                    {"name", charter.name},
                                    {"members", std::to_string(state.members.size())}});
    return absl::OkStatus();
  }

  absl::Status Propose(const hanse::v1::ProposeMemberRequest& req,
                       hanse::v1::MemberActionResponse* resp) {
    absl::Time now = node_->clock->Now();
    HANSE_ASSIGN_OR_RETURN(MemberCard card, VerifyCard(req.card_jws(), now));
    return Sign(MembershipAction::kAdmit, card.did, req.card_jws(), "", resp);
  }

  absl::Status Endorse(const hanse::v1::EndorseMemberRequest& req,
                       hanse::v1::MemberActionResponse* resp) {
    MembershipState state = node_->membership->state();
    auto it = state.pending_cards.find(req.did());
    if (it == state.pending_cards.end()) {
      if (state.members.count(req.did())) {
        return absl::AlreadyExistsError(absl::StrCat(req.did(), " is already a member"));
      }
      return absl::NotFoundError(
          absl::StrCat("no pending proposal for ", req.did(),
                       " (a member proposes it with `hanse member propose`)"));
    }
    // Endorse exactly the card that was proposed.
    std::string card_jws;
    for (const auto& record : node_->membership->records()) {
      auto e = VerifyEndorsement(record, *node_->membership->charter(), node_->clock->Now());
      if (e.ok() && e->action == MembershipAction::kAdmit && e->subject == req.did()) {
        card_jws = e->subject_card;
        break;
      }
    }
    return Sign(MembershipAction::kAdmit, req.did(), card_jws, "", resp);
  }

  absl::Status Revoke(const hanse::v1::RevokeMemberRequest& req,
                      hanse::v1::MemberActionResponse* resp) {
    if (req.reason().empty()) return absl::InvalidArgumentError("--reason is required");
    if (!node_->membership->state().members.count(req.did())) {
      return absl::NotFoundError(absl::StrCat(req.did(), " is not a current member"));
    }
    return Sign(MembershipAction::kRevoke, req.did(), "", req.reason(), resp);
  }

  absl::Status List(hanse::v1::ListMembersResponse* resp) {
    auto charter = node_->membership->charter();
    if (!charter) {
      return absl::FailedPreconditionError(
          "this node has not joined a federation (`hanse federation join`)");
    }
    MembershipState s = node_->membership->state();
    resp->set_federation_id(charter->id);
    resp->set_name(charter->name);
    resp->set_admission_threshold(charter->admission_threshold);
    resp->set_revocation_threshold(charter->revocation_threshold);
    auto add = [](auto* list, const MemberCard& card, const std::set<std::string>& signers) {
      auto* m = list->Add();
      ToProto(card, m->mutable_peer());
      for (const auto& d : signers) m->add_signers(d);
    };
    for (const auto& [did, card] : s.members) {
      auto it = s.admitted_by.find(did);
      add(resp->mutable_members(), card,
          it == s.admitted_by.end() ? std::set<std::string>{} : it->second);
    }
    for (const auto& [did, voters] : s.pending_admit) {
      add(resp->mutable_pending_admissions(), s.pending_cards[did], voters);
    }
    for (const auto& [did, voters] : s.revoked) {
      add(resp->mutable_revoked(), MemberCard{did, "", "", "", "", absl::UnixEpoch()}, voters);
    }
    for (const auto& [did, voters] : s.pending_revoke) {
      add(resp->mutable_pending_revocations(), s.members[did], voters);
    }
    return absl::OkStatus();
  }

 private:
  absl::Status Sign(MembershipAction action, const std::string& subject,
                    const std::string& card_jws, const std::string& reason,
                    hanse::v1::MemberActionResponse* resp) {
    auto charter = node_->membership->charter();
    if (!charter) {
      return absl::FailedPreconditionError(
          "this node has not joined a federation (`hanse federation join`)");
    }
    MembershipState before = node_->membership->state();
    if (!before.members.count(node_->home->identity.did)) {
      return absl::PermissionDeniedError("only current members can endorse or revoke");
    }
    if (before.revoked.count(subject)) {
      return absl::FailedPreconditionError(absl::StrCat(subject, " was revoked, permanently"));
    }
    absl::Time now = node_->clock->Now();
    HANSE_ASSIGN_OR_RETURN(std::string jws,
                           SignEndorsement(*charter, action, subject, card_jws, reason,
                                           node_->home->identity.participant_key, now));
    HANSE_ASSIGN_OR_RETURN(bool added, node_->membership->AddRecord(jws, now));
    (void)added;
    node_->gossip->SyncSoon();
    MembershipState after = node_->membership->state();
    bool admit = action == MembershipAction::kAdmit;
    int needed = admit ? charter->admission_threshold : charter->revocation_threshold;
    size_t have =
        admit ? (after.members.count(subject) ? needed : after.pending_admit[subject].size())
              : (after.revoked.count(subject) ? needed : after.pending_revoke[subject].size());
    std::string outcome = admit ? (after.members.count(subject) ? "admitted" : "pending")
                                : (after.revoked.count(subject) ? "revoked" : "pending");
    resp->set_message(absl::StrCat(admit ? "admission of " : "revocation of ", subject, ": ",
                                   outcome, " (", have, " of ", needed, " signatures)"));
    log::Info(admit ? "admission endorsed" : "revocation vote",
              {{"subject", subject}, {"outcome", outcome}});
    return absl::OkStatus();
  }

  const NodeParts* node_;
};

grpc::Status AdminService::JoinFederation(grpc::ServerContext*,
                                          const hanse::v1::JoinFederationRequest* req,
                                          hanse::v1::JoinFederationResponse* resp) {
  return ToGrpc(MembershipAdmin(node_).Join(*req, resp));
}
grpc::Status AdminService::ProposeMember(grpc::ServerContext*,
                                         const hanse::v1::ProposeMemberRequest* req,
                                         hanse::v1::MemberActionResponse* resp) {
  return ToGrpc(MembershipAdmin(node_).Propose(*req, resp));
}
grpc::Status AdminService::EndorseMember(grpc::ServerContext*,
                                         const hanse::v1::EndorseMemberRequest* req,
                                         hanse::v1::MemberActionResponse* resp) {
  return ToGrpc(MembershipAdmin(node_).Endorse(*req, resp));
}
grpc::Status AdminService::RevokeMember(grpc::ServerContext*,
                                        const hanse::v1::RevokeMemberRequest* req,
                                        hanse::v1::MemberActionResponse* resp) {
  return ToGrpc(MembershipAdmin(node_).Revoke(*req, resp));
}
grpc::Status AdminService::ListMembers(grpc::ServerContext*, const hanse::v1::ListMembersRequest*,
                                       hanse::v1::ListMembersResponse* resp) {
  return ToGrpc(MembershipAdmin(node_).List(resp));
}

}  // namespace

std::unique_ptr<grpc::Service> NewAdminService(const NodeParts* node) {
  return std::make_unique<AdminService>(node);
}

}  // namespace hanse::node
