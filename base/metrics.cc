#include "base/metrics.h"

#include <cmath>
#include <cstdio>

#include "absl/strings/str_cat.h"

namespace hanse {
namespace {

std::string Escape(absl::string_view value, bool help) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && !help) {
      out += "\\\"";
    } else {
      out += c;
    }
  }
  return out;
}

std::string Number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    return std::to_string(static_cast<long long>(v));
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

}  // namespace

std::string SeriesName(absl::string_view name, const Labels& labels) {
  std::string out(name);
  if (labels.empty()) return out;
  out += '{';
  bool first = true;
  for (const auto& [k, v] : labels) {
    if (!first) out += ',';
    first = false;
    absl::StrAppend(&out, k, "=\"", Escape(v, false), "\"");
  }
  out += '}';
  return out;
}

void CounterFamily::Add(const Labels& labels, double value) {
  std::lock_guard lock(mu_);
  values_[labels] += value;
}

void HistogramFamily::Observe(const Labels& labels, double value) {
  std::lock_guard lock(mu_);
  Series& s = series_[labels];
  if (s.buckets.empty()) s.buckets.assign(bounds_.size(), 0);
  for (size_t i = 0; i < bounds_.size(); ++i) {
    if (value <= bounds_[i]) {
      ++s.buckets[i];
      break;
    }
  }
  s.sum += value;
  ++s.count;
}

std::vector<double> Metrics::LatencyBuckets() {
  return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

CounterFamily* Metrics::Counter(const std::string& name, const std::string& help) {
  std::lock_guard lock(mu_);
  Family& f = families_[name];
  if (!f.counter) {
    f.type = "counter";
    f.help = help;
    f.counter = std::make_unique<CounterFamily>();
  }
  return f.counter.get();
}

HistogramFamily* Metrics::Histogram(const std::string& name, const std::string& help,
                                    std::vector<double> bounds) {
  std::lock_guard lock(mu_);
  Family& f = families_[name];
  if (!f.histogram) {
    f.type = "histogram";
    f.help = help;
    f.histogram.reset(new HistogramFamily(std::move(bounds)));
  }
  return f.histogram.get();
}

void Metrics::Gauge(const std::string& name, const std::string& help,
                    std::function<std::vector<std::pair<Labels, double>>()> read) {
  std::lock_guard lock(mu_);
  Family& f = families_[name];
  f.type = "gauge";
  f.help = help;
  f.gauge = std::move(read);
}

void Metrics::CounterFrom(const std::string& name, const std::string& help,
                          std::function<std::vector<std::pair<Labels, double>>()> read) {
  Gauge(name, help, std::move(read));
  std::lock_guard lock(mu_);
  families_[name].type = "counter";
}

std::string Metrics::Render() const {
  // Families are never removed, so their addresses stay valid once the registry lock is
  // released: gauge callbacks (which may read the store) run without holding it, and the
  // counters the servers update are only locked one family at a time.
  std::vector<std::pair<std::string, const Family*>> families;
  {
    std::lock_guard lock(mu_);
    for (const auto& [name, f] : families_) families.emplace_back(name, &f);
  }
  std::string out;
  for (const auto& [name, fp] : families) {
    const Family& f = *fp;
    absl::StrAppend(&out, "# HELP ", name, " ", Escape(f.help, true), "\n# TYPE ", name, " ",
                    f.type, "\n");
    if (f.counter) {
      std::lock_guard l(f.counter->mu_);
      for (const auto& [labels, v] : f.counter->values_) {
        absl::StrAppend(&out, SeriesName(name, labels), " ", Number(v), "\n");
      }
    } else if (f.histogram) {
      HistogramFamily& h = *f.histogram;
      std::lock_guard l(h.mu_);
      for (const auto& [labels, s] : h.series_) {
        std::uint64_t cumulative = 0;
        for (size_t i = 0; i < h.bounds_.size(); ++i) {
          cumulative += s.buckets[i];
          Labels with = labels;
          with["le"] = Number(h.bounds_[i]);
          absl::StrAppend(&out, SeriesName(name + "_bucket", with), " ", cumulative, "\n");
        }
        Labels inf = labels;
        inf["le"] = "+Inf";
        absl::StrAppend(&out, SeriesName(name + "_bucket", inf), " ", s.count, "\n");
        absl::StrAppend(&out, SeriesName(name + "_sum", labels), " ", Number(s.sum), "\n");
        absl::StrAppend(&out, SeriesName(name + "_count", labels), " ", s.count, "\n");
      }
    } else if (f.gauge) {
      for (const auto& [labels, v] : f.gauge()) {
        absl::StrAppend(&out, SeriesName(name, labels), " ", Number(v), "\n");
      }
    }
  }
  return out;
}

}  // namespace hanse
