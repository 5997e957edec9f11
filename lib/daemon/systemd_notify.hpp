#pragma once
// sd_notify(3) without libsystemd: a datagram to $NOTIFY_SOCKET (Type=notify units). A no-op elsewhere.
#include <string>

namespace u2u::daemon {

// Sends `state` (e.g. "READY=1\nSTATUS=...") when $NOTIFY_SOCKET is set; returns false only on a send error.
bool notify_systemd(const std::string& state);

}  // namespace u2u::daemon
