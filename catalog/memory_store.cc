#include "catalog/memory_store.h"

#include <array>
#include <map>
#include <mutex>
#include <string>

#include "absl/strings/match.h"

namespace hanse::catalog {
namespace {

absl::Status Closed() { return absl::FailedPreconditionError("the store is closed"); }

class MemoryStore final : public Store {
 public:
  absl::StatusOr<std::optional<std::string>> Get(Family family,
                                                 absl::string_view key) const override {
    std::lock_guard lock(mu_);
    if (closed_) return Closed();
    const auto& m = maps_[static_cast<int>(family)];
    auto it = m.find(key);
    if (it == m.end()) return std::nullopt;
    return it->second;
  }

  absl::Status Write(const WriteBatch& batch, bool /*sync*/) override {
    std::lock_guard lock(mu_);
    if (closed_) return Closed();
    for (const auto& op : batch.ops()) {
      auto& m = maps_[static_cast<int>(op.family)];
      if (op.value) {
        m.insert_or_assign(op.key, *op.value);
      } else {
        m.erase(op.key);
      }
    }
    return absl::OkStatus();
  }

  absl::Status Scan(
      Family family, absl::string_view prefix,
      const std::function<bool(absl::string_view, absl::string_view)>& visit) const override {
    return ScanFrom(family, prefix, prefix, visit);
  }

  absl::Status ScanFrom(
      Family family, absl::string_view prefix, absl::string_view start,
      const std::function<bool(absl::string_view, absl::string_view)>& visit) const override {
    // Visits a snapshot: the callback may call back into the store.
    std::vector<std::pair<std::string, std::string>> rows;
    {
      std::lock_guard lock(mu_);
      if (closed_) return Closed();
      const auto& m = maps_[static_cast<int>(family)];
      for (auto it = m.lower_bound(start); it != m.end(); ++it) {
        if (!absl::StartsWith(it->first, prefix)) break;
        rows.emplace_back(it->first, it->second);
      }
    }
    for (const auto& [k, v] : rows) {
      if (!visit(k, v)) break;
    }
    return absl::OkStatus();
  }

  std::uint64_t DiskBytes() const override { return 0; }

  absl::Status Close() override {
    std::lock_guard lock(mu_);
    closed_ = true;
    return absl::OkStatus();
  }

 private:
  mutable std::mutex mu_;
  bool closed_ = false;
  std::array<std::map<std::string, std::string, std::less<>>, static_cast<int>(Family::kCount)>
      maps_;
};

}  // namespace

std::unique_ptr<Store> NewMemoryStore() { return std::make_unique<MemoryStore>(); }

}  // namespace hanse::catalog
