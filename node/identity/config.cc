#include "node/identity/config.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <charconv>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "base/json.h"
#include "base/log.h"
#include "base/status.h"
#include "nlohmann/json.hpp"
#include "trust/keys.h"

namespace hanse::node {

std::string HostPort::ToString() const {
  if (host.find(':') != std::string::npos) return absl::StrCat("[", host, "]:", port);
  return absl::StrCat(host, ":", port);
}

absl::StatusOr<HostPort> ParseHostPort(absl::string_view text) {
  HostPort hp;
  absl::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    size_t close = text.find(']');
    if (close == absl::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return absl::InvalidArgumentError(
          absl::StrCat("\"", text, "\" is not HOST:PORT (IPv6 as [ADDR]:PORT)"));
    }
    hp.host = std::string(text.substr(1, close - 1));
    port_text = text.substr(close + 2);
  } else {
    size_t colon = text.rfind(':');
    if (colon == absl::string_view::npos || text.find(':') != colon) {
      return absl::InvalidArgumentError(
          absl::StrCat("\"", text, "\" is not HOST:PORT (IPv6 as [ADDR]:PORT)"));
    }
    hp.host = std::string(text.substr(0, colon));
    port_text = text.substr(colon + 1);
  }
  if (hp.host.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("\"", text, "\" has an empty host"));
  }
  int port = -1;
  auto [ptr, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || ptr != port_text.data() + port_text.size() || port < 0 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", text, "\" has an invalid port (expected 0-65535)"));
  }
  hp.port = port;
  return hp;
}

bool IsUnspecifiedHost(absl::string_view host) {
  in6_addr v6{};
  if (::inet_pton(AF_INET6, std::string(host).c_str(), &v6) == 1) {
    return IN6_IS_ADDR_UNSPECIFIED(&v6);
  }
  in_addr v4{};
  if (::inet_pton(AF_INET, std::string(host).c_str(), &v4) == 1) return v4.s_addr == INADDR_ANY;
  return host == "*";
}

absl::Status CheckDialable(const HostPort& hp, absl::string_view what) {
  if (IsUnspecifiedHost(hp.host)) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, " ", hp.ToString(), " is an address to listen on, not one peers can dial: give ",
        "this host's name or address as the other members reach it (e.g. node1.example.org:",
        hp.port == 0 ? 7400 : hp.port, ")"));
  }
  if (hp.port == 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, " ", hp.ToString(), " has port 0: peers need the fixed port the node listens on"));
  }
  return absl::OkStatus();
}

absl::Status ValidateCountry(absl::string_view cc) {
  if (cc.size() != 2 || !absl::ascii_isupper(cc[0]) || !absl::ascii_isupper(cc[1])) {
    return absl::InvalidArgumentError(absl::StrCat(
        "country \"", cc, "\" is not an ISO 3166-1 alpha-2 code (two capital letters, e.g. FR)"));
  }
  return absl::OkStatus();
}

namespace {

using Json = nlohmann::json;

absl::Status KeyError(absl::string_view source, absl::string_view key, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat(source, ": key \"", key, "\": ", problem));
}

absl::Status GetString(const Json& j, absl::string_view source, const char* key, std::string* out) {
  auto it = j.find(key);
  if (it == j.end()) return absl::OkStatus();
  if (!it->is_string()) return KeyError(source, key, "must be a string");
  *out = it->get<std::string>();
  return absl::OkStatus();
}

absl::Status GetInt(const Json& j, absl::string_view source, const char* key, int lo, int hi,
                    int* out) {
  auto it = j.find(key);
  if (it == j.end()) return absl::OkStatus();
  if (!it->is_number_integer()) return KeyError(source, key, "must be an integer");
  auto v = it->get<std::int64_t>();
  if (v < lo || v > hi) {
    return KeyError(source, key, absl::StrCat("must be between ", lo, " and ", hi));
  }
  *out = static_cast<int>(v);
  return absl::OkStatus();
}

absl::Status GetStrings(const Json& j, absl::string_view source, const char* key,
                        std::vector<std::string>* out) {
  auto it = j.find(key);
  if (it == j.end()) return absl::OkStatus();
  if (!it->is_array()) return KeyError(source, key, "must be an array of strings");
  out->clear();
  for (const auto& v : *it) {
    if (!v.is_string()) return KeyError(source, key, "must be an array of strings");
    out->push_back(v.get<std::string>());
  }
  return absl::OkStatus();
}

constexpr const char* kKnownKeys[] = {"format_version",
                                      "legal_name",
                                      "country",
                                      "listen",
                                      "registration_number",
                                      "jurisdictions",
                                      "endpoint",
                                      "key_type",
                                      "log_format",
                                      "log_level",
                                      "shutdown_grace_seconds",
                                      "max_message_bytes",
                                      "max_concurrent_streams",
                                      "gossip_interval_ms",
                                      "gossip_fanout",
                                      "gossip_push_fanout",
                                      "gossip_view_size",
                                      "fetch_idle_timeout_seconds",
                                      "live_transfer_max_mb",
                                      "node_cert_validity_days",
                                      "node_cert_renew_days",
                                      "store_min_free_mb",
                                      "store_scrub_hours",
                                      "ops_listen",
                                      "access_socket",
                                      "data_roots",
                                      "sources"};

}  // namespace

absl::StatusOr<Config> ParseConfig(absl::string_view json_text, absl::string_view source) {
  absl::StatusOr<Json> parsed = ParseJson(json_text);
  if (!parsed.ok())
    return absl::Status(parsed.status().code(),
                        absl::StrCat(source, ": ", parsed.status().message()));
  const Json& j = *parsed;
  if (!j.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": must be a JSON object"));
  }
  for (const auto& [key, value] : j.items()) {
    bool known = false;
    for (const char* k : kKnownKeys) known = known || key == k;
    if (!known) {
      return KeyError(source, key, "unknown key (see docs/operations.md for the format)");
    }
  }
  Config c;
  if (!j.contains("format_version")) {
    return KeyError(source, "format_version", "missing");
  }
  HANSE_RETURN_IF_ERROR(GetInt(j, source, "format_version", 0, 1 << 20, &c.format_version));
  if (c.format_version != kHomeFormatVersion) {
    return absl::FailedPreconditionError(absl::StrCat(
        source, ": the home has format version ", c.format_version, "; this hanse reads version ",
        kHomeFormatVersion, " (use the hanse release that created it, or create a new home)"));
  }
  HANSE_RETURN_IF_ERROR(GetString(j, source, "legal_name", &c.legal_name));
  HANSE_RETURN_IF_ERROR(GetString(j, source, "country", &c.country));
  HANSE_RETURN_IF_ERROR(GetString(j, source, "registration_number", &c.registration_number));
  HANSE_RETURN_IF_ERROR(GetStrings(j, source, "jurisdictions", &c.jurisdictions));
  HANSE_RETURN_IF_ERROR(GetString(j, source, "listen", &c.listen));
  HANSE_RETURN_IF_ERROR(GetString(j, source, "endpoint", &c.endpoint));
  HANSE_RETURN_IF_ERROR(GetString(j, source, "ops_listen", &c.ops_listen));
  HANSE_RETURN_IF_ERROR(GetString(j, source, "access_socket", &c.access_socket));
  HANSE_RETURN_IF_ERROR(GetString(j, source, "key_type", &c.key_type));
  HANSE_RETURN_IF_ERROR(GetString(j, source, "log_format", &c.log_format));
  HANSE_RETURN_IF_ERROR(GetString(j, source, "log_level", &c.log_level));
  HANSE_RETURN_IF_ERROR(
      GetInt(j, source, "shutdown_grace_seconds", 0, 3600, &c.shutdown_grace_seconds));
  HANSE_RETURN_IF_ERROR(
      GetInt(j, source, "max_message_bytes", 1024, 64 << 20, &c.max_message_bytes));
  HANSE_RETURN_IF_ERROR(
      GetInt(j, source, "max_concurrent_streams", 1, 10000, &c.max_concurrent_streams));

  HANSE_RETURN_IF_ERROR(
      GetInt(j, source, "gossip_interval_ms", 50, 3'600'000, &c.gossip_interval_ms));
  HANSE_RETURN_IF_ERROR(GetInt(j, source, "gossip_fanout", 1, 64, &c.gossip_fanout));
  HANSE_RETURN_IF_ERROR(GetInt(j, source, "gossip_push_fanout", 0, 1024, &c.gossip_push_fanout));
  HANSE_RETURN_IF_ERROR(GetInt(j, source, "gossip_view_size", 0, 1024, &c.gossip_view_size));
  HANSE_RETURN_IF_ERROR(
      GetInt(j, source, "fetch_idle_timeout_seconds", 1, 86400, &c.fetch_idle_timeout_seconds));
  HANSE_RETURN_IF_ERROR(
      GetInt(j, source, "live_transfer_max_mb", 0, 1 << 30, &c.live_transfer_max_mb));
  HANSE_RETURN_IF_ERROR(
      GetInt(j, source, "node_cert_validity_days", 2, 3650, &c.node_cert_validity_days));
  HANSE_RETURN_IF_ERROR(
      GetInt(j, source, "node_cert_renew_days", 1, 3649, &c.node_cert_renew_days));
  HANSE_RETURN_IF_ERROR(GetInt(j, source, "store_min_free_mb", 0, 1 << 20, &c.store_min_free_mb));
  HANSE_RETURN_IF_ERROR(GetInt(j, source, "store_scrub_hours", 0, 8760, &c.store_scrub_hours));
  if (c.node_cert_renew_days >= c.node_cert_validity_days) {
    return KeyError(source, "node_cert_renew_days",
                    "must be less than node_cert_validity_days (or every start would renew)");
  }
  if (c.legal_name.empty()) return KeyError(source, "legal_name", "missing or empty");
  if (c.legal_name.size() > 256) return KeyError(source, "legal_name", "longer than 256 bytes");
  if (auto s = ValidateCountry(c.country); !s.ok()) {
    return KeyError(source, "country", s.message());
  }
  if (c.jurisdictions.size() > 32) return KeyError(source, "jurisdictions", "more than 32");
  for (const auto& jur : c.jurisdictions) {
    if (jur != "EU" && !ValidateCountry(jur).ok()) {
      return KeyError(source, "jurisdictions",
                      absl::StrCat("\"", jur, "\" is not an ISO 3166-1 alpha-2 code or EU"));
    }
  }
  if (auto s = ParseHostPort(c.listen); !s.ok()) {
    return KeyError(source, "listen", s.status().message());
  }
  if (!c.endpoint.empty()) {
    auto hp = ParseHostPort(c.endpoint);
    if (!hp.ok()) return KeyError(source, "endpoint", hp.status().message());
    if (auto s = CheckDialable(*hp, "the address"); !s.ok()) {
      return KeyError(source, "endpoint", s.message());
    }
  }
  if (auto roots = j.find("data_roots"); roots != j.end()) {
    if (!roots->is_object()) return KeyError(source, "data_roots", "must be an object");
    for (const auto& [name, dir] : roots->items()) {
      if (name.empty() || name.size() > 64 ||
          name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-_") != std::string::npos) {
        return KeyError(source, "data_roots",
                        absl::StrCat("root name \"", name, "\" must be 1-64 of [a-z0-9-_]"));
      }
      if (!dir.is_string() || dir.get<std::string>().empty() || dir.get<std::string>()[0] != '/') {
        return KeyError(source, "data_roots",
                        absl::StrCat("root \"", name, "\" must be an absolute directory path"));
      }
      c.data_roots[name] = dir.get<std::string>();
    }
  }
  if (auto sources = j.find("sources"); sources != j.end()) {
    if (!sources->is_object()) return KeyError(source, "sources", "must be an object");
    for (const auto& [kind, named] : sources->items()) {
      if (kind != "s3" && kind != "http" && kind != "postgresql") {
        return KeyError(source, "sources",
                        absl::StrCat("unknown kind \"", kind, "\" (s3, http or postgresql)"));
      }
      if (!named.is_object()) {
        return KeyError(source, "sources", absl::StrCat("\"", kind, "\" must be an object"));
      }
    }
    c.sources_json = sources->dump();
  }
  if (!c.access_socket.empty() && c.access_socket[0] != '/') {
    return KeyError(source, "access_socket", "must be an absolute path");
  }
  if (!c.ops_listen.empty()) {
    if (auto s = ParseHostPort(c.ops_listen); !s.ok()) {
      return KeyError(source, "ops_listen", s.status().message());
    }
  }
  if (auto s = trust::ParseKeyType(c.key_type); !s.ok()) {
    return KeyError(source, "key_type", s.status().message());
  }
  if (auto s = log::ParseFormat(c.log_format); !s.ok()) {
    return KeyError(source, "log_format", s.status().message());
  }
  if (auto s = log::ParseLevel(c.log_level); !s.ok()) {
    return KeyError(source, "log_level", s.status().message());
  }
  return c;
}

std::string SerializeConfig(const Config& c) {
  nlohmann::ordered_json j;
  j["format_version"] = c.format_version;
  j["legal_name"] = c.legal_name;
  j["country"] = c.country;
  j["registration_number"] = c.registration_number;
  j["jurisdictions"] = c.jurisdictions;
  j["listen"] = c.listen;
  j["endpoint"] = c.endpoint;
  j["key_type"] = c.key_type;
  j["log_format"] = c.log_format;
  j["log_level"] = c.log_level;
  j["shutdown_grace_seconds"] = c.shutdown_grace_seconds;
  j["max_message_bytes"] = c.max_message_bytes;
  j["max_concurrent_streams"] = c.max_concurrent_streams;
  j["gossip_interval_ms"] = c.gossip_interval_ms;
  j["gossip_fanout"] = c.gossip_fanout;
  j["gossip_push_fanout"] = c.gossip_push_fanout;
  j["gossip_view_size"] = c.gossip_view_size;
  j["fetch_idle_timeout_seconds"] = c.fetch_idle_timeout_seconds;
  j["live_transfer_max_mb"] = c.live_transfer_max_mb;
  j["node_cert_validity_days"] = c.node_cert_validity_days;
  j["node_cert_renew_days"] = c.node_cert_renew_days;
  j["store_min_free_mb"] = c.store_min_free_mb;
  j["store_scrub_hours"] = c.store_scrub_hours;
  if (!c.ops_listen.empty()) j["ops_listen"] = c.ops_listen;
  if (!c.access_socket.empty()) j["access_socket"] = c.access_socket;
  if (!c.data_roots.empty()) j["data_roots"] = c.data_roots;
  if (!c.sources_json.empty()) j["sources"] = nlohmann::ordered_json::parse(c.sources_json);
  return j.dump(2) + "\n";
}

}  // namespace hanse::node
