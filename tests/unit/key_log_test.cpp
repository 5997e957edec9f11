// The opt-in key log (lib/logging/key_log.hpp): KD-sess leaves the process only into a regular file of this user
// that nobody else may read. The audit's findings: a pre-created 0644 file stayed 0644 and received KD-sess in
// clear, and a symbolic link was followed.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>
#include <string>

#include "crypto/secret_bytes.hpp"
#include "logging/key_log.hpp"

namespace u2u::test {
namespace {

// A fresh directory for each test, removed afterwards.
class KeyLogFile : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "/key-log-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  std::string path(const std::string& name) const { return dir_ + "/" + name; }

  // An empty file with exactly `mode` (whatever the umask).
  static void create(const std::string& file, mode_t mode) {
    const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
    ASSERT_GE(fd, 0) << file;
    ASSERT_EQ(::fchmod(fd, mode), 0);
    ::close(fd);
  }

  static std::string contents(const std::string& file) {
    std::ifstream in(file, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
  }

  static struct stat status(const std::string& file) {
    struct stat st {};
    EXPECT_EQ(::lstat(file.c_str(), &st), 0) << file;
    return st;
  }

  // A KD-sess whose hex is known: 00 01 02 ... 1f.
  static crypto::SecretBytes kd_sess() {
    crypto::SecretBytes key(32);
    for (std::size_t i = 0; i < key.size(); ++i) key.writable()[i] = static_cast<std::uint8_t>(i);
    return key;
  }
  static constexpr const char* kKdSessHex = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

 private:
  std::string dir_;
};

TEST_F(KeyLogFile, FreshFileIsCreated0600WithOneLinePerLink) {
  const std::string file = path("keys.log");
  {
    auto log = logging::KeyLog::open(file);
    ASSERT_TRUE(log.ok()) << log.error().reason;
    EXPECT_EQ(log->path(), file);
    ASSERT_TRUE(log->write("5e55a0", "kd-sess-id-1", kd_sess()).ok());
    ASSERT_TRUE(log->write("5e55a1", "kd-sess-id-2", kd_sess()).ok());
  }
  const struct stat st = status(file);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(st.st_uid, ::geteuid());
  const std::string one = std::string("U2U_KD_SESS 5e55a0 kd-sess-id-1 ") + kKdSessHex + "\n";
  const std::string two = std::string("U2U_KD_SESS 5e55a1 kd-sess-id-2 ") + kKdSessHex + "\n";
  EXPECT_EQ(contents(file), one + two);

  // A restart appends to the daemon's own 0600 file.
  auto again = logging::KeyLog::open(file);
  ASSERT_TRUE(again.ok()) << again.error().reason;
  ASSERT_TRUE(again->write("5e55a2", "kd-sess-id-3", kd_sess()).ok());
  EXPECT_EQ(contents(file), one + two + "U2U_KD_SESS 5e55a2 kd-sess-id-3 " + kKdSessHex + "\n");
}

TEST_F(KeyLogFile, SymbolicLinkIsRefusedAndItsTargetNotWritten) {
  const std::string target = path("elsewhere");
  create(target, 0600);
  const std::string link = path("keys.log");
  ASSERT_EQ(::symlink(target.c_str(), link.c_str()), 0);
  auto log = logging::KeyLog::open(link);
  ASSERT_FALSE(log.ok()) << "a symbolic link was followed";
  EXPECT_EQ(log.error().check, "key_log");
  EXPECT_NE(log.error().reason.find(link), std::string::npos) << log.error().reason;
  EXPECT_NE(log.error().reason.find("symbolic link"), std::string::npos) << log.error().reason;
  EXPECT_EQ(contents(target), "");

  // A dangling link does not create its target either.
  const std::string dangling = path("dangling.log");
  const std::string nowhere = path("nowhere");
  ASSERT_EQ(::symlink(nowhere.c_str(), dangling.c_str()), 0);
  auto dangling_log = logging::KeyLog::open(dangling);
  ASSERT_FALSE(dangling_log.ok());
  EXPECT_NE(dangling_log.error().reason.find("symbolic link"), std::string::npos) << dangling_log.error().reason;
  EXPECT_FALSE(std::filesystem::exists(nowhere));
}

// Refused, not fixed with fchmod: whoever opened the file while it was 0644 keeps reading it after a chmod.
TEST_F(KeyLogFile, PreCreatedWorldReadableFileIsRefusedAndGetsNoKey) {
  for (const mode_t mode : {0644, 0640, 0604, 0620, 0602, 0666}) {
    SCOPED_TRACE(mode);
    const std::string file = path("keys-" + std::to_string(mode) + ".log");
    create(file, mode);
    auto log = logging::KeyLog::open(file);
    ASSERT_FALSE(log.ok()) << "a key log that group or others may access was taken";
    EXPECT_EQ(log.error().check, "key_log");
    EXPECT_NE(log.error().reason.find(file), std::string::npos) << log.error().reason;
    EXPECT_NE(log.error().reason.find("chmod 600 " + file), std::string::npos) << log.error().reason;
    EXPECT_EQ(status(file).st_mode & 07777, mode) << "the refused file was changed";
    EXPECT_EQ(contents(file), "");
  }
}

TEST_F(KeyLogFile, FileOfAnotherOwnerIsRefused) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to chown a file to another user";
  const std::string file = path("keys.log");
  create(file, 0600);
  ASSERT_EQ(::chown(file.c_str(), 12345, 12345), 0);
  auto log = logging::KeyLog::open(file);
  ASSERT_FALSE(log.ok()) << "a key log of another user was taken";
  EXPECT_EQ(log.error().check, "key_log");
  EXPECT_NE(log.error().reason.find(file), std::string::npos) << log.error().reason;
  EXPECT_NE(log.error().reason.find("owned by uid 12345"), std::string::npos) << log.error().reason;
  EXPECT_EQ(contents(file), "");
}

TEST_F(KeyLogFile, FifoIsRefusedWithoutWaitingForAReader) {
  const std::string fifo = path("keys.fifo");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  // Without a reader: refused at once, not blocked in open() (a blocked open is released by a reader, then fails).
  auto opening = std::async(std::launch::async, [&fifo] { return logging::KeyLog::open(fifo); });
  if (opening.wait_for(std::chrono::seconds(5)) != std::future_status::ready) {
    ADD_FAILURE() << "KeyLog::open blocked on a FIFO without a reader";
    const int release = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK);
    opening.wait();
    ::close(release);
  }
  auto alone = opening.get();
  ASSERT_FALSE(alone.ok());
  EXPECT_NE(alone.error().reason.find(fifo), std::string::npos) << alone.error().reason;
  // With one: opened, then refused as not a regular file; the reader gets nothing.
  const int reader = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK);
  ASSERT_GE(reader, 0);
  auto log = logging::KeyLog::open(fifo);
  ASSERT_FALSE(log.ok());
  EXPECT_NE(log.error().reason.find("not a regular file"), std::string::npos) << log.error().reason;
  char byte = 0;
  EXPECT_LE(::read(reader, &byte, 1), 0);
  ::close(reader);
}

}  // namespace
}  // namespace u2u::test
