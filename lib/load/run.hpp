#pragma once
// One u2u-load run, in phases on one io_context:
//   1. credentials and sockets; the relay's resident memory before anything is sent;
//   2. the floods start; --flood-lead-ms later the handshakes (at most --concurrency in progress);
//   3. once every handshake ended the floods stop; with --hold the links stay up --hold-ms more;
//   4. every link still up is released; the relay's memory after the releases, and after --settle-ms.
// The relay's memory is also sampled each second throughout.
#include <ostream>

#include "load/options.hpp"
#include "load/report.hpp"

namespace u2u::load {

// The exit code (kExitOk, kExitIncomplete, or kExitUsage with the reason on `err` when the run could not begin).
// Completes `options` first: --relay NAME resolved to its address, --sources from --credentials.
int run(Options& options, Report& report, std::ostream& err);

}  // namespace u2u::load
