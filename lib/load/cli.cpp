#include "load/cli.hpp"

#include <fstream>

#include "load/options.hpp"
#include "load/report.hpp"
#include "load/run.hpp"

namespace u2u::load {

#ifndef U2U_VERSION
#define U2U_VERSION "0.0.0"
#endif

int main(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  auto parsed = parse(args);
  if (!parsed) {
    err << "u2u-load: " << parsed.error().reason << "\nTry 'u2u-load --help'.\n";
    return kExitUsage;
  }
  Options& options = *parsed;
  if (options.help) {
    out << usage();
    return kExitOk;
  }
  if (options.version) {
    out << "u2u-load " U2U_VERSION " (many simulated source UEs through one relay-ue)\n";
    return kExitOk;
  }
  Report report;
  const int code = run(options, report, err);
  if (code == kExitUsage) return code;
  print_summary(out, options, report);
  if (!options.json_path.empty()) {
    std::ofstream json(options.json_path, std::ios::trunc);
    json << to_json(options, report);
    if (!json) {
      err << "u2u-load: cannot write " << options.json_path << "\n";
      return kExitUsage;
    }
  }
  return code;
}

}  // namespace u2u::load
