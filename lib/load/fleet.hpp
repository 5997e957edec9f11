#pragma once
// The simulated sources: N protocol::SourceUe state machines, each with its own credential, Layer-2 ID and UDP
// socket, on one io_context. At most `concurrency` handshakes are in progress; a source whose link is confirmed
// releases it at once, or with --hold keeps it (keep-alive) until release_all().
#include <utility>  // before Asio under g++ 12 (std::exchange)

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <array>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <vector>

#include "crypto/certificate.hpp"
#include "load/options.hpp"
#include "load/report.hpp"
#include "protocol/source.hpp"

namespace u2u::load {

// A credential issued on the spot by the provisioning CA: a fresh P-256 key and a certificate (role ue) for `id`.
Result<protocol::LocalParty> issue_party(const crypto::CertificateAuthority& ca,
                                         std::shared_ptr<const crypto::TrustStore> trust, const std::string& id,
                                         wire::Layer2Id layer2_id, WallTime now);

// Credentials issued beforehand (--credentials): each source's certificate PEM, then its private key PEM, one pair
// after another; the i-th pair gets Layer-2 ID layer2_base + i. A certificate whose key does not follow it, or
// does not match it, is an error naming the pair.
Result<std::vector<protocol::LocalParty>> load_parties(const std::string& path,
                                                       std::shared_ptr<const crypto::TrustStore> trust,
                                                       wire::Layer2Id layer2_base);

// "load-source-0001" for source 1 of prefix "load-source-".
std::string source_user_info_id(const std::string& prefix, std::size_t index);

class Fleet {
 public:
  // `events`, when not null, gets each source's events of level info and above as JSON lines (role source-ue).
  Fleet(boost::asio::io_context& io, const Options& options, Report& report, std::ostream* events);
  ~Fleet();
  Fleet(const Fleet&) = delete;
  Fleet& operator=(const Fleet&) = delete;

  // Issues every source's credential and opens its socket.
  Status prepare(const crypto::CertificateAuthority& ca, std::shared_ptr<const crypto::TrustStore> trust);
  // The same with credentials issued beforehand (load_parties): source i gets parties[i - 1].
  Status prepare(std::vector<protocol::LocalParty> parties);
  // Starts the handshakes; `ended` runs once each has ended (confirmed or failed).
  void start(std::function<void()> ended);
  // Releases every link still held; `released` runs once no release is in progress (at once when none is).
  void release_all(std::function<void()> released);
  // The run is over: handshakes still in progress count as incomplete, and nothing more is sent.
  void abort();

 private:
  // kReestablishing: --reestablish, a held link was lost and a new handshake runs (outside the run's count).
  enum class Phase { kWaiting, kHandshaking, kHolding, kReestablishing, kReleasing, kDone };
  struct Source;

  Status add(protocol::LocalParty party);
  void reestablish(Source& s);
  void launch();
  void begin(Source& s);
  void receive(Source& s);
  void dispatch(Source& s, protocol::Output out);
  void arm(Source& s);
  void handshake_ended();
  void release_ended();

  boost::asio::io_context& io_;
  const Options& options_;
  Report& report_;
  std::ostream* events_;
  std::vector<std::unique_ptr<Source>> sources_;
  std::array<std::uint8_t, 65536> buffer_{};  // every socket is read synchronously once readable
  std::size_t next_ = 0;
  std::size_t in_progress_ = 0;
  std::size_t ended_ = 0;
  std::size_t held_ = 0;
  std::size_t releasing_ = 0;
  bool aborted_ = false;
  MonoTime first_start_{};
  MonoTime last_end_{};
  std::function<void()> on_ended_;
  std::function<void()> on_released_;
};

}  // namespace u2u::load
