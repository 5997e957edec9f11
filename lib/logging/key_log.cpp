#include "logging/key_log.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace u2u::logging {

Result<KeyLog> KeyLog::open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return make_error(Cause::kNone, "key_log", "cannot open key log " + path + ": " + std::strerror(errno));
  return KeyLog(fd, path);
}

KeyLog::~KeyLog() {
  if (fd_ >= 0) ::close(fd_);
}

Status KeyLog::write(const std::string& session, const std::string& kd_sess_id, const crypto::SecretBytes& kd_sess) {
  std::string line = "U2U_KD_SESS " + session + " " + kd_sess_id + " " + to_hex(kd_sess.reveal()) + "\n";
  const bool ok = ::write(fd_, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  crypto::secure_wipe(line);
  if (!ok) return make_error(Cause::kNone, "key_log", "cannot write key log " + path_ + ": " + std::strerror(errno));
  return {};
}

}  // namespace u2u::logging
