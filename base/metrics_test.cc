#include "base/metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace hanse {
namespace {

using ::testing::HasSubstr;

TEST(MetricsTest, RendersCountersHistogramsAndGaugesInTheTextFormat) {
  Metrics m;
  m.Counter("hanse_rpc_total", "RPCs served")->Add({{"method", "Pull"}, {"code", "OK"}}, 2);
  m.Histogram("hanse_rpc_seconds", "RPC latency", {0.1, 1})->Observe({{"method", "Pull"}}, 0.5);
  m.Gauge("hanse_documents", "Documents held", [] {
    return std::vector<std::pair<Labels, double>>{{{{"kind", "dataset"}}, 3}, {{}, 1.5}};
  });
  std::string text = m.Render();
  EXPECT_THAT(text, HasSubstr("# HELP hanse_rpc_total RPCs served\n# TYPE hanse_rpc_total counter\n"
                              "hanse_rpc_total{code=\"OK\",method=\"Pull\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("# TYPE hanse_rpc_seconds histogram\n"
                              "hanse_rpc_seconds_bucket{le=\"0.1\",method=\"Pull\"} 0\n"
                              "hanse_rpc_seconds_bucket{le=\"1\",method=\"Pull\"} 1\n"
                              "hanse_rpc_seconds_bucket{le=\"+Inf\",method=\"Pull\"} 1\n"
                              "hanse_rpc_seconds_sum{method=\"Pull\"} 0.5\n"
                              "hanse_rpc_seconds_count{method=\"Pull\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("hanse_documents{kind=\"dataset\"} 3\nhanse_documents 1.5\n"));
}

TEST(MetricsTest, LabelValuesAreEscaped) {
  EXPECT_EQ(SeriesName("x", {{"v", "a\"b\\c\nd"}}), "x{v=\"a\\\"b\\\\c\\nd\"}");
}

}  // namespace
}  // namespace hanse
