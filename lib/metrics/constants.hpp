#pragma once
// Every constant of the metrics endpoint (issue 14), with its source.
#include <array>
#include <chrono>
#include <cstddef>
#include <string_view>

namespace u2u::metrics {

// The Prometheus text exposition format, version 0.0.4 (prometheus.io/docs/instrumenting/exposition_formats).
inline constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";
inline constexpr std::string_view kPath = "/metrics";
// Every metric name starts with this (Prometheus naming: a single-word application prefix).
inline constexpr std::string_view kPrefix = "u2u_";

// The HTTP endpoint's limits: a scraper needs one small GET. A connection has kRequestTimeout for its whole request
// (a slowloris client sending a byte a second is cut off then) and kWriteTimeout for the answer; at most
// kMaxConnections at once (beyond, the oldest still waiting for its request is closed to make way, or the new one
// when every one is answering); a request header (or body) over kMaxRequestSize is a 400.
inline constexpr std::size_t kMaxConnections = 16;
inline constexpr std::chrono::seconds kRequestTimeout{5};
inline constexpr std::chrono::seconds kWriteTimeout{5};
inline constexpr std::size_t kMaxRequestSize = 8192;
// After a failed accept (out of file descriptors, say), the next one waits this long: no busy loop.
inline constexpr std::chrono::milliseconds kAcceptRetry{100};

// Handshake duration buckets, in seconds: a loopback handshake takes a few ms; T5080 retransmissions add 0.5 s
// each (config/source-ue.yaml), and a relay under load adds queueing (docs/performance.md).
inline constexpr std::array<double, 13> kHandshakeBuckets = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                                             0.25,  0.5,    1,     2.5,  5,     10};
// Handshakes begun and not yet ended that are timed at once; beyond, the oldest is forgotten (a flood of requests
// that never complete cannot grow this table).
inline constexpr std::size_t kMaxTimedHandshakes = 4096;

}  // namespace u2u::metrics
