// A Store held in memory: ordered maps per family, nothing on disk. For the gossip simulator,
// which runs hundreds of nodes in one process and measures the protocol, not the disk. The node
// itself always uses the RocksDB store.
#ifndef HANSE_CATALOG_MEMORY_STORE_H_
#define HANSE_CATALOG_MEMORY_STORE_H_

#include <memory>

#include "catalog/store.h"

namespace hanse::catalog {

std::unique_ptr<Store> NewMemoryStore();

}  // namespace hanse::catalog

#endif  // HANSE_CATALOG_MEMORY_STORE_H_
