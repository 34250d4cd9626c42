// Internal to trust/: OpenSSL error conversion.
#ifndef HANSE_TRUST_INTERNAL_H_
#define HANSE_TRUST_INTERNAL_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace hanse::trust::internal {

// Drains this thread's OpenSSL error queue into the message ("what: err; err").
// Always drains, even when the queue is empty, so stale errors never leak into
// unrelated OpenSSL calls (TLS code reads the same thread-local queue).
absl::Status OpenSslError(absl::StatusCode code, absl::string_view what);

// Discards queued OpenSSL errors when a failure is reported in our own words.
void ClearOpenSslErrors();

// Largest PEM/DER input we hand to OpenSSL (BIO lengths are int; real keys and
// certificates are a few KiB).
inline constexpr size_t kMaxPemBytes = 64 * 1024;

}  // namespace hanse::trust::internal

#endif  // HANSE_TRUST_INTERNAL_H_
