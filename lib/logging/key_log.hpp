#pragma once
// The opt-in key log (like SSLKEYLOGFILE): one line per established link,
//   U2U_KD_SESS <session> <kd_sess_id> <KD-sess as hex>
// so that a researcher can decrypt captures. Only when log.key_log_file names a file; the daemon warns at
// startup. This is the one place where key bytes leave the process, and only because a person asked.
#include <string>

#include "common/error.hpp"
#include "crypto/secret_bytes.hpp"

namespace u2u::logging {

class KeyLog {
 public:
  // Opens `path` for appending, created with mode 0600 when missing. Refused (check "key_log", the reason names
  // the path and what to do): a symbolic link (not followed), anything but a regular file, a file owned by
  // another user than the effective uid, and a file that group or others may access (mode & 077). A loose mode
  // is refused rather than fixed with fchmod: whoever opened the file while it was readable keeps reading it.
  static Result<KeyLog> open(const std::string& path);
  KeyLog(KeyLog&& other) noexcept : fd_(other.fd_), path_(std::move(other.path_)) { other.fd_ = -1; }
  KeyLog& operator=(KeyLog&&) = delete;
  ~KeyLog();

  // Appends one line; the line is built in one wiped buffer (no temporary holds the key's hex).
  Status write(const std::string& session, const std::string& kd_sess_id, const crypto::SecretBytes& kd_sess);
  const std::string& path() const { return path_; }

 private:
  KeyLog(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  int fd_ = -1;
  std::string path_;
};

}  // namespace u2u::logging
