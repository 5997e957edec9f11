#pragma once
// A small registry of counters, gauges and histograms, rendered in the Prometheus text exposition format (0.0.4).
// Every family has at most one label, and its values are declared up front: the set of series is bounded and each
// is exported from the start (at 0), so a rate() sees the first increment.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace u2u::metrics {

class Registry {
 public:
  using Id = std::size_t;
  enum class Type { kCounter, kGauge, kHistogram };

  // A counter (name ends in _total) with `label` taking one of `values` (none: no label).
  Id counter(std::string name, std::string help, std::string label = {}, std::vector<std::string> values = {});
  // A counter or gauge read at scrape time: `read(i)` is the value of the series of values[i] (0 without a label).
  Id reader(Type type, std::string name, std::string help, std::string label, std::vector<std::string> values,
            std::function<double(std::size_t)> read);
  Id histogram(std::string name, std::string help, std::vector<double> bounds);

  // Adds `n` to the series of label value `value`; a value not declared counts under "other" when that is
  // declared, else nowhere.
  void add(Id id, std::string_view value = {}, double n = 1);
  void observe(Id id, double sample);
  // The current value of a series (a histogram: its count), for tests.
  double value(Id id, std::string_view label_value = {}) const;

  std::string render() const;

 private:
  struct Family {
    Type type;
    std::string name;
    std::string help;
    std::string label;
    std::vector<std::string> values;
    std::vector<double> samples;  // one per value (one without a label)
    std::function<double(std::size_t)> read;
    std::vector<double> bounds;         // histogram
    std::vector<std::uint64_t> bucket;  // histogram: per bound, not cumulative
    double sum = 0;
    std::uint64_t count = 0;
  };
  std::size_t series(const Family& f, std::string_view value) const;  // index, or npos
  std::vector<Family> families_;
};

// A sample value as Prometheus reads it: integers without a fraction, others in the shortest exact form.
std::string format_value(double v);

}  // namespace u2u::metrics
