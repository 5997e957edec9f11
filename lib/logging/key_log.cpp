#include "logging/key_log.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string_view>

namespace u2u::logging {

namespace {

constexpr std::string_view kTag = "U2U_KD_SESS ";

Error refused(const std::string& path, const std::string& why) {
  return make_error(Cause::kNone, "key_log", "key log " + path + " " + why);
}

std::string octal_mode(mode_t mode) {
  char text[8];
  std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode & 07777));
  return text;
}

}  // namespace

Result<KeyLog> KeyLog::open(const std::string& path) {
  // O_NOFOLLOW: a symbolic link as the last component is refused, not followed. O_NONBLOCK: opening a FIFO does
  // not wait for a reader (it is refused below as not a regular file); on a regular file it changes nothing.
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0600);
  if (fd < 0) {
    const int open_errno = errno;
    struct stat link {};
    if (open_errno == ELOOP && ::lstat(path.c_str(), &link) == 0 && S_ISLNK(link.st_mode)) {
      return refused(path,
                     "is a symbolic link; session keys are never written through one (point "
                     "log.key_log_file at the file itself)");
    }
    return refused(path, std::string("cannot be opened: ") + std::strerror(open_errno));
  }
  KeyLog log(fd, path);  // closes fd on every refusal below
  struct stat st {};
  if (::fstat(fd, &st) != 0) return refused(path, std::string("cannot be examined: ") + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) return refused(path, "is not a regular file");
  if (st.st_uid != ::geteuid()) {
    return refused(path, "is owned by uid " + std::to_string(st.st_uid) + ", not by this daemon's uid " +
                             std::to_string(::geteuid()) + " (remove it, or chown it to uid " +
                             std::to_string(::geteuid()) + " and chmod 600 " + path + ")");
  }
  if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    return refused(path, "has mode " + octal_mode(st.st_mode) + ": group or others may access it (chmod 600 " + path +
                             ", or remove it and the daemon creates it with mode 0600)");
  }
  return log;
}

KeyLog::~KeyLog() {
  if (fd_ >= 0) ::close(fd_);
}

Status KeyLog::write(const std::string& session, const std::string& kd_sess_id, const crypto::SecretBytes& kd_sess) {
  static constexpr char kDigits[] = "0123456789abcdef";
  const ByteView key = kd_sess.reveal();
  // "U2U_KD_SESS <session> <kd_sess_id> <hex>\n", sized once and filled in place: the buffer is the only copy of
  // the key's hex, and SecretBytes wipes it on every path out of here.
  crypto::SecretBytes line(kTag.size() + session.size() + 1 + kd_sess_id.size() + 1 + 2 * key.size() + 1);
  auto out = line.writable().begin();
  const auto put = [&out](std::string_view text) { out = std::copy(text.begin(), text.end(), out); };
  put(kTag);
  put(session);
  put(" ");
  put(kd_sess_id);
  put(" ");
  for (const std::uint8_t b : key) {
    *out++ = static_cast<std::uint8_t>(kDigits[b >> 4]);
    *out++ = static_cast<std::uint8_t>(kDigits[b & 0x0f]);
  }
  put("\n");

  const ByteView bytes = line.reveal();
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd_, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      return make_error(Cause::kNone, "key_log", "cannot write key log " + path_ + ": " + std::strerror(errno));
    }
    done += static_cast<std::size_t>(n);
  }
  return {};
}

}  // namespace u2u::logging
