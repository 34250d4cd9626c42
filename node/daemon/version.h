// The release version, printed by `hanse --version` and reported in status.
#ifndef HANSE_NODE_DAEMON_VERSION_H_
#define HANSE_NODE_DAEMON_VERSION_H_

namespace hanse::node {
inline constexpr const char* kVersion = "0.1.0";
}  // namespace hanse::node

#endif  // HANSE_NODE_DAEMON_VERSION_H_
