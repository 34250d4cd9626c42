// Metrics in the Prometheus text exposition format (version 0.0.4): counter and histogram
// families that the code updates as events happen, and gauge families read by a callback at
// scrape time (sizes, counts, ages the node already knows). Thread-safe. Debian packages no
// Prometheus client library for C++, so this is the small part of one the node needs.
#ifndef HANSE_BASE_METRICS_H_
#define HANSE_BASE_METRICS_H_

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"

namespace hanse {

// Label name -> value, in a stable order.
using Labels = std::map<std::string, std::string>;

class CounterFamily {
 public:
  void Add(const Labels& labels, double value = 1);

 private:
  friend class Metrics;
  std::mutex mu_;
  std::map<Labels, double> values_;
};

class HistogramFamily {
 public:
  void Observe(const Labels& labels, double value);

 private:
  friend class Metrics;
  explicit HistogramFamily(std::vector<double> bounds) : bounds_(std::move(bounds)) {}
  struct Series {
    std::vector<std::uint64_t> buckets;  // cumulative counts are computed when rendered
    double sum = 0;
    std::uint64_t count = 0;
  };
  std::vector<double> bounds_;
  std::mutex mu_;
  std::map<Labels, Series> series_;
};

class Metrics {
 public:
  // Bounds for latencies in seconds, 1 ms to 10 s.
  static std::vector<double> LatencyBuckets();

  // The family `name` (created on first use; `help` is its HELP line). Pointers stay valid for
  // the registry's life.
  CounterFamily* Counter(const std::string& name, const std::string& help);
  HistogramFamily* Histogram(const std::string& name, const std::string& help,
                             std::vector<double> bounds = LatencyBuckets());
  // A gauge family whose samples `read` returns at each scrape. Register gauges before the
  // first Render (at start-up): the callback is read without the registry lock.
  void Gauge(const std::string& name, const std::string& help,
             std::function<std::vector<std::pair<Labels, double>>()> read);
  // The same for a counter another part of the code keeps (it must only grow).
  void CounterFrom(const std::string& name, const std::string& help,
                   std::function<std::vector<std::pair<Labels, double>>()> read);

  // Every family, sorted by name, in the text exposition format.
  std::string Render() const;

 private:
  struct Family {
    std::string type;
    std::string help;
    std::unique_ptr<CounterFamily> counter;
    std::unique_ptr<HistogramFamily> histogram;
    std::function<std::vector<std::pair<Labels, double>>()> gauge;
  };
  mutable std::mutex mu_;
  std::map<std::string, Family> families_;
};

// `name{a="x",b="y"}` with label values escaped as the format asks (backslash, quote, newline).
std::string SeriesName(absl::string_view name, const Labels& labels);

}  // namespace hanse

#endif  // HANSE_BASE_METRICS_H_
