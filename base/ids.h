// Random identifiers: RFC 4122 version 4 UUIDs from the operating system's CSPRNG (OpenSSL's
// RAND_bytes), for negotiation ids and request ids.
#ifndef HANSE_BASE_IDS_H_
#define HANSE_BASE_IDS_H_

#include <string>

namespace hanse {

// "xxxxxxxx-xxxx-4xxx-Vxxx-xxxxxxxxxxxx" in lower-case hex, V one of 8, 9, a, b (RFC 4122
// section 4.4: version 4, variant 10).
std::string NewUuid();

}  // namespace hanse

#endif  // HANSE_BASE_IDS_H_
