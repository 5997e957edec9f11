#pragma once
// A Prometheus scraper for the daemons' metrics endpoint (issue 14), for the integration tests.
#include <string>

namespace u2u::test {

// A TCP connection to 127.0.0.1:`port` with a 10 s receive timeout, or -1.
int connect_to(int port);
// Sends `request` and reads until the server closes (or 10 s pass): the whole answer, "" when closed at once.
std::string http(int port, const std::string& request);
std::string get(int port, const std::string& path = "/metrics");
std::string body_of(const std::string& answer);
// The value of one series ("name" or "name{label=\"value\"}") in an exposition text; -1 when absent.
double sample(const std::string& text, const std::string& series);
// metrics.listen on `port` for a testbed config.
void enable_metrics(const std::string& config, int port);

}  // namespace u2u::test
