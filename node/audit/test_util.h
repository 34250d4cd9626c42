// Helpers shared by the audit unit tests.
#ifndef HANSE_NODE_AUDIT_TEST_UTIL_H_
#define HANSE_NODE_AUDIT_TEST_UTIL_H_

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "node/audit/entry.h"
#include "trust/did_key.h"
#include "trust/keys.h"

namespace hanse::audit::testing {

inline absl::Time Utc(int y, int m, int d, int hh = 0, int mm = 0, int ss = 0) {
  return absl::FromCivil(absl::CivilSecond(y, m, d, hh, mm, ss), absl::UTCTimeZone());
}

inline std::string Did(const trust::PrivateKey& key) { return trust::EncodeDidKey(key.Public()); }

inline trust::PrivateKey NewKey(trust::KeyType type = trust::KeyType::kEd25519) {
  return *trust::PrivateKey::Generate(type);
}

// A valid event; `n` varies the time and details.
inline AuditEvent Event(const std::string& actor, const std::string& subject, int n,
                        const std::string& kind = "transfer.completed") {
  AuditEvent e;
  e.kind = kind;
  e.subject = subject;
  e.actor = actor;
  e.time = Utc(2024, 6, 1) + absl::Seconds(n);
  e.details = {{"n", n}, {"bytes", 1000 + n}};
  return e;
}

}  // namespace hanse::audit::testing

#endif  // HANSE_NODE_AUDIT_TEST_UTIL_H_
