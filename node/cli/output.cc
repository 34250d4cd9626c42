#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <thread>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "base/clock.h"
#include "base/file.h"
#include "base/json.h"
#include "base/log.h"
#include "base/status.h"
#include "base/version.h"
#include "catalog/document.h"
#include "catalog/store.h"
#include "nlohmann/json.hpp"
#include "node/cli/commands.h"
#include "node/cli/contract_commands.h"
#include "node/daemon/node.h"
#include "node/federation/membership.h"
#include "node/federation/peers.h"
#include "node/identity/card.h"
#include "node/identity/home.h"
#include "node/rpc/admin_client.h"
#include "policy/evaluate.h"
#include "policy/policy.h"
#include "policy/request.h"

namespace hanse::node {

void PrintError(const absl::Status& status) {
  std::fprintf(stderr, "hanse: error: %s\n", std::string(status.message()).c_str());
}

std::string PeerRow(const hanse::v1::Peer& p) {
  return absl::StrFormat("%-60s %-22s %-2s %s", p.did(), p.endpoint(), p.country(), p.legal_name());
}

namespace {

using google::protobuf::FieldDescriptor;

nlohmann::json FieldValue(const google::protobuf::Message& m, const FieldDescriptor* f, int i) {
  const auto* r = m.GetReflection();
  const bool rep = f->is_repeated();
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
      return rep ? r->GetRepeatedInt32(m, f, i) : r->GetInt32(m, f);
    case FieldDescriptor::CPPTYPE_INT64:
      return rep ? r->GetRepeatedInt64(m, f, i) : r->GetInt64(m, f);
    case FieldDescriptor::CPPTYPE_UINT32:
      return rep ? r->GetRepeatedUInt32(m, f, i) : r->GetUInt32(m, f);
    case FieldDescriptor::CPPTYPE_UINT64:
      return rep ? r->GetRepeatedUInt64(m, f, i) : r->GetUInt64(m, f);
    case FieldDescriptor::CPPTYPE_DOUBLE:
      return rep ? r->GetRepeatedDouble(m, f, i) : r->GetDouble(m, f);
    case FieldDescriptor::CPPTYPE_FLOAT:
      return rep ? r->GetRepeatedFloat(m, f, i) : r->GetFloat(m, f);
    case FieldDescriptor::CPPTYPE_BOOL:
      return rep ? r->GetRepeatedBool(m, f, i) : r->GetBool(m, f);
    case FieldDescriptor::CPPTYPE_ENUM:
      return (rep ? r->GetRepeatedEnum(m, f, i) : r->GetEnum(m, f))->name();
    case FieldDescriptor::CPPTYPE_STRING:
      return rep ? r->GetRepeatedString(m, f, i) : r->GetString(m, f);
    case FieldDescriptor::CPPTYPE_MESSAGE:
      return MessageJson(rep ? r->GetRepeatedMessage(m, f, i) : r->GetMessage(m, f));
  }
  return nullptr;
}

}  // namespace

nlohmann::json MessageJson(const google::protobuf::Message& message) {
  nlohmann::json out = nlohmann::json::object();
  const auto* descriptor = message.GetDescriptor();
  const auto* reflection = message.GetReflection();
  for (int k = 0; k < descriptor->field_count(); ++k) {
    const FieldDescriptor* f = descriptor->field(k);
    if (f->is_repeated()) {
      nlohmann::json arr = nlohmann::json::array();
      for (int i = 0; i < reflection->FieldSize(message, f); ++i) {
        arr.push_back(FieldValue(message, f, i));
      }
      out[f->name()] = std::move(arr);
    } else {
      out[f->name()] = FieldValue(message, f, 0);
    }
  }
  return out;
}

nlohmann::json EmbeddedJson(const std::string& text) {
  if (text.empty()) return nullptr;
  auto parsed = ParseJson(text);
  if (!parsed.ok()) return text;
  return *std::move(parsed);
}

// Shortens to at most n bytes without cutting a UTF-8 sequence.
std::string Clip(absl::string_view s, size_t n) {
  if (s.size() <= n) return std::string(s);
  size_t cut = n - 3;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  return absl::StrCat(s.substr(0, cut), "...");
}

}  // namespace hanse::node
