#include <signal.h>
#include <unistd.h>

#include <algorithm>
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

void PrintResult(bool json, const nlohmann::json& result, const std::string& text) {
  std::printf("%s\n", json ? result.dump(2).c_str() : text.c_str());
}

int ExitCode(const absl::Status& status) {
  if (status.ok()) return 0;
  switch (status.code()) {
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
      return 3;
    default:
      return 1;
  }
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

namespace {

// Characters (code points) of UTF-8 text: every byte that does not continue a sequence.
size_t Characters(absl::string_view s) {
  size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

// The byte offset where character `k` starts (s.size() when s has fewer).
size_t OffsetOfCharacter(absl::string_view s, size_t k) {
  size_t seen = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80 && seen++ == k) return i;
  }
  return s.size();
}

}  // namespace

std::string Clip(absl::string_view s, size_t n) {
  if (Characters(s) <= n) return std::string(s);
  return absl::StrCat(s.substr(0, OffsetOfCharacter(s, n > 3 ? n - 3 : 0)), "...");
}

std::string Bar(std::uint64_t got, std::uint64_t total) {
  constexpr int kWidth = 30;
  int filled = total == 0 ? kWidth : static_cast<int>(kWidth * got / total);
  return absl::StrCat("[", std::string(filled, '#'), std::string(kWidth - filled, ' '), "]");
}

void PrintProgress(absl::string_view what, std::uint64_t done, std::uint64_t total) {
  if (total > 0) {
    std::fprintf(stderr, "\r%.*s %s %6.1f / %.1f MiB (%3d%%)", static_cast<int>(what.size()),
                 what.data(), Bar(done, total).c_str(), done / 1048576.0, total / 1048576.0,
                 static_cast<int>(100 * std::min(done, total) / total));
  } else {
    std::fprintf(stderr, "\r%.*s %6.1f MiB", static_cast<int>(what.size()), what.data(),
                 done / 1048576.0);
  }
  std::fflush(stderr);
}

std::string Cell(absl::string_view s, size_t width) {
  std::string out = Clip(s, width);
  out.append(width - std::min(width, Characters(out)), ' ');
  return out;
}

}  // namespace hanse::node
