#include "metrics/registry.hpp"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>

namespace u2u::metrics {

std::string format_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[40];
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    std::snprintf(buf, sizeof buf, "%.0f", v);
    return buf;
  }
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

namespace {

// Label values are from the fixed tables of this part; escaped all the same (exposition format: \\, \" and \n).
std::string escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

std::string_view type_name(Registry::Type t) {
  switch (t) {
    case Registry::Type::kCounter: return "counter";
    case Registry::Type::kGauge: return "gauge";
    case Registry::Type::kHistogram: return "histogram";
  }
  return "untyped";
}

}  // namespace

Registry::Id Registry::counter(std::string name, std::string help, std::string label, std::vector<std::string> values) {
  return reader(Type::kCounter, std::move(name), std::move(help), std::move(label), std::move(values), nullptr);
}

Registry::Id Registry::reader(Type type, std::string name, std::string help, std::string label,
                              std::vector<std::string> values, std::function<double(std::size_t)> read) {
  if (label.empty() != values.empty()) throw std::logic_error("metric " + name + ": a label needs its values");
  Family f{type, std::move(name), std::move(help), std::move(label), std::move(values), {}, std::move(read), {}, {}};
  f.samples.assign(std::max<std::size_t>(1, f.values.size()), 0.0);
  families_.push_back(std::move(f));
  return families_.size() - 1;
}

Registry::Id Registry::histogram(std::string name, std::string help, std::vector<double> bounds) {
  Family f{Type::kHistogram, std::move(name), std::move(help), {}, {}, {}, nullptr, std::move(bounds), {}};
  f.bucket.assign(f.bounds.size(), 0);
  families_.push_back(std::move(f));
  return families_.size() - 1;
}

std::size_t Registry::series(const Family& f, std::string_view value) const {
  if (f.values.empty()) return 0;
  for (std::size_t i = 0; i < f.values.size(); ++i) {
    if (f.values[i] == value) return i;
  }
  for (std::size_t i = 0; i < f.values.size(); ++i) {
    if (f.values[i] == "other") return i;
  }
  return std::string::npos;
}

void Registry::add(Id id, std::string_view value, double n) {
  Family& f = families_.at(id);
  const std::size_t i = series(f, value);
  if (i != std::string::npos) f.samples[i] += n;
}

void Registry::observe(Id id, double sample) {
  Family& f = families_.at(id);
  for (std::size_t i = 0; i < f.bounds.size(); ++i) {
    if (sample <= f.bounds[i]) {
      ++f.bucket[i];
      break;
    }
  }
  f.sum += sample;
  ++f.count;
}

double Registry::value(Id id, std::string_view label_value) const {
  const Family& f = families_.at(id);
  if (f.type == Type::kHistogram) return static_cast<double>(f.count);
  const std::size_t i = series(f, label_value);
  if (i == std::string::npos) return 0;
  return f.read ? f.read(i) : f.samples[i];
}

std::string Registry::render() const {
  std::string out;
  for (const Family& f : families_) {
    out += "# HELP " + f.name + " " + f.help + "\n";
    out += "# TYPE " + f.name + " " + std::string(type_name(f.type)) + "\n";
    if (f.type == Type::kHistogram) {
      std::uint64_t cumulative = 0;
      for (std::size_t i = 0; i < f.bounds.size(); ++i) {
        cumulative += f.bucket[i];
        out += f.name + "_bucket{le=\"" + format_value(f.bounds[i]) + "\"} " + std::to_string(cumulative) + "\n";
      }
      out += f.name + "_bucket{le=\"+Inf\"} " + std::to_string(f.count) + "\n";
      out += f.name + "_sum " + format_value(f.sum) + "\n";
      out += f.name + "_count " + std::to_string(f.count) + "\n";
      continue;
    }
    for (std::size_t i = 0; i < f.samples.size(); ++i) {
      const double v = f.read ? f.read(i) : f.samples[i];
      out += f.name;
      if (!f.values.empty()) out += "{" + f.label + "=\"" + escape(f.values[i]) + "\"}";
      out += " " + format_value(v) + "\n";
    }
  }
  return out;
}

}  // namespace u2u::metrics
