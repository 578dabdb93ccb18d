// Prometheus text exposition (format 0.0.4) for /metrics.
//
// A MetricsWriter collects metric families — a name, a help line, a type and samples with
// labels — and renders them in the text format: per family one `# HELP` and one `# TYPE`
// line, then its samples. Help text escapes `\` and newline; label values escape `\`, `"`
// and newline, as the format requires. Names are checked against the format's grammar.
//
// Thread-safety: a writer is used by one thread at a time.
#ifndef LIFEBOAT_CORE_API_METRICS_H_
#define LIFEBOAT_CORE_API_METRICS_H_

#include <lifeboat/status.h>

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lifeboat::core::api {

enum class MetricType { kCounter, kGauge, kUntyped, kHistogram };

struct MetricSample {
  std::vector<std::pair<std::string, std::string>> labels;  // name, value (any UTF-8)
  double value = 0;
};

// Observations of one histogram series, in buckets with the given upper bounds (ascending;
// +Inf is implied).
class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);
  void Observe(double value);
  const std::vector<double>& bounds() const { return bounds_; }
  const std::vector<uint64_t>& counts() const { return counts_; }
  double sum() const { return sum_; }
  uint64_t count() const { return count_; }

 private:
  std::vector<double> bounds_;
  std::vector<uint64_t> counts_;  // per bound, not cumulative; the last is +Inf
  double sum_ = 0;
  uint64_t count_ = 0;
};

// The Content-Type of the text format.
inline constexpr char kPrometheusContentType[] = "text/plain; version=0.0.4; charset=utf-8";

class MetricsWriter {
 public:
  // Adds `samples` to the family `name`. The first call for a name fixes its help and type;
  // a later call with the same help and type appends. INVALID_ARGUMENT when the metric or a
  // label name is not valid ([a-zA-Z_:][a-zA-Z0-9_:]* for metrics, [a-zA-Z_][a-zA-Z0-9_]*
  // for labels, no label name starting with "__"), when a sample repeats a label name, or
  // when the family exists with another help or type, or for kHistogram (AddHistogram).
  // Nothing is added on error.
  Status Add(const std::string& name, const std::string& help, MetricType type,
             std::vector<MetricSample> samples);
  // Adds histogram series to the family `name` (type histogram): per series a cumulative
  // `<name>_bucket` per bound (label le="<bound>") and le="+Inf", then `<name>_sum` and
  // `<name>_count`, each with the series' labels. Errors as Add, and INVALID_ARGUMENT for a
  // series label named "le".
  Status AddHistogram(
      const std::string& name, const std::string& help,
      const std::vector<std::pair<std::vector<std::pair<std::string, std::string>>, Histogram>>&
          series);

  // The exposition text, families in the order they were first added.
  std::string Render() const;

 private:
  struct Row {
    std::string suffix;  // histograms: "_bucket", "_sum", "_count"
    MetricSample sample;
  };
  struct Family {
    std::string name;
    std::string help;
    MetricType type;
    std::vector<Row> rows;
  };
  Status AddRows(const std::string& name, const std::string& help, MetricType type,
                 std::vector<Row> rows);
  std::vector<Family> families_;
};

// A source of samples for /metrics (e.g. the control module's cluster health and clock
// skew gauges). Returns an error when it could not collect; what it added stays.
using MetricsCollector = std::function<Status(MetricsWriter&)>;

// Text helpers, exposed for tests and for other writers.
bool IsValidMetricName(std::string_view name);
bool IsValidLabelName(std::string_view name);
std::string EscapeLabelValue(std::string_view value);
std::string EscapeHelp(std::string_view help);
// A sample value: integers without a fraction, NaN, +Inf, -Inf, otherwise shortest
// round-trip decimal.
std::string FormatMetricValue(double value);

}  // namespace lifeboat::core::api

#endif  // LIFEBOAT_CORE_API_METRICS_H_
