// The relay's and the target's signature work handed out as jobs (issue 11): the state machines stay
// single-threaded and sans-I/O, a step pauses while its job runs elsewhere and resumes with its result. The jobs
// may finish in any order and while other datagrams are handled; the limit on jobs refuses new handshakes with #5
// before any signature work; the tables and a reloaded trust store are checked again when a job finishes.
#include <gtest/gtest.h>

#include <condition_variable>
#include <deque>
#include <mutex>

#include "protocol/transcript.hpp"
#include "transport/worker_pool.hpp"
#include "unit/harness.hpp"

namespace u2u::test {
namespace {

using namespace std::chrono_literals;

// The originator's part (what the source sent) of a request the relay forwarded.
Bytes originator_of(const Bytes& forwarded) {
  const auto d = wire::decode_datagram(forwarded);
  const ByteView part = d->message.originator_part();
  return Bytes(part.begin(), part.end());
}

TEST(Workers, AHandshakeWhoseSignatureWorkRunsInJobsCompletesAsWithout) {
  const TestPki pki;
  const Parties p(pki);
  Testbed tb(p.source, p.relay, p.target);
  tb.relay.set_job_limit(4);
  tb.target.set_job_limit(4);
  tb.run();
  EXPECT_TRUE(tb.source.confirmed());
  ASSERT_EQ(tb.net.events("target-ue", "link_established").size(), 1u);
  EXPECT_EQ(tb.target.keys_for("source-ue")->kd_sess_id, tb.source.keys()->kd_sess_id);
  // The relay's two steps (2, 6) and the target's (4 and 5) each went through a job.
  EXPECT_EQ(tb.net.jobs_run, 3u);
  EXPECT_EQ(tb.relay.jobs_in_flight(), 0u);
  EXPECT_EQ(tb.target.jobs_in_flight(), 0u);
}

TEST(Workers, TheRelayHandsOutTheRequestsSignatureWorkAndForwardsNothingUntilItIsDone) {
  const TestPki pki;
  const Parties p(pki);
  auto relay_signer = std::make_shared<CountingSigner>(p.relay.signer);
  auto self = p.relay;
  self.signer = relay_signer;
  protocol::RelayUe relay(relay_config(self));
  relay.set_job_limit(4);
  Source source(pki, "source-ue", kSourceL2);
  auto out = relay.on_datagram(kSourceEndpoint, source.request(), test_now());
  EXPECT_TRUE(out.send.empty());
  ASSERT_EQ(out.jobs.size(), 1u);
  EXPECT_EQ(relay_signer->count, 0) << "the signature is the job's, not the call's";
  EXPECT_EQ(relay.pending_count(), 0u);
  out.jobs[0].run();
  EXPECT_EQ(relay_signer->count, 1);
  const auto done = relay.on_job_done(out.jobs[0].id, test_now());
  ASSERT_EQ(done.send.size(), 1u);
  EXPECT_EQ(done.send[0].to, kTargetEndpoint);
  EXPECT_EQ(relay.pending_count(), 1u);
  EXPECT_TRUE(relay.on_job_done(out.jobs[0].id, test_now()).send.empty()) << "a job resumes its step once";
}

TEST(Workers, NewRequestsBeyondTheJobLimitAreRefusedWithCause5BeforeAnySignatureWork) {
  const TestPki pki;
  const Parties p(pki);
  protocol::RelayUe relay(relay_config(p.relay));
  relay.set_job_limit(2);
  std::vector<std::unique_ptr<Source>> sources;
  std::vector<protocol::Output> outs;
  for (int i = 0; i < 3; ++i) {
    sources.push_back(std::make_unique<Source>(pki, "ue-" + std::to_string(i), 0x000400 + i));
    outs.push_back(relay.on_datagram(host(i), sources.back()->request(), test_now()));
  }
  EXPECT_EQ(outs[0].jobs.size(), 1u);
  EXPECT_EQ(outs[1].jobs.size(), 1u);
  EXPECT_TRUE(outs[2].jobs.empty());
  EXPECT_EQ(checks(outs[2]), std::vector<std::string>{"workers_busy"});
  EXPECT_EQ(rejected_with(outs[2]), Cause::kLackOfResources);
  EXPECT_EQ(relay.jobs_in_flight(), 2u);
  // Once a job is done, a new request is taken again.
  outs[0].jobs[0].run();
  relay.on_job_done(outs[0].jobs[0].id, test_now());
  Source late(pki, "ue-late", 0x000450);
  EXPECT_EQ(relay.on_datagram(host(9), late.request(), test_now()).jobs.size(), 1u);
}

TEST(Workers, ACopyOfARequestBeingVerifiedIsDroppedWithoutASecondJob) {
  const TestPki pki;
  const Parties p(pki);
  protocol::RelayUe relay(relay_config(p.relay));
  relay.set_job_limit(4);
  Source source(pki, "source-ue", kSourceL2);
  auto first = relay.on_datagram(kSourceEndpoint, source.request(), test_now());
  ASSERT_EQ(first.jobs.size(), 1u);
  const auto copy = relay.on_datagram(kSourceEndpoint, source.request(), test_now());
  EXPECT_TRUE(copy.jobs.empty());
  EXPECT_TRUE(copy.send.empty());
  ASSERT_EQ(copy.events.size(), 1u);
  EXPECT_EQ(str(copy.events[0], "reason"), "copy of a request being verified");
  first.jobs[0].run();
  EXPECT_EQ(relay.on_job_done(first.jobs[0].id, test_now()).send.size(), 1u);
  // And once forwarded, a copy is a retransmission again.
  EXPECT_EQ(relay.on_datagram(kSourceEndpoint, source.request(), test_now()).send.size(), 1u);
}

TEST(Workers, JobsFinishingInAnyOrderEachForwardTheirOwnRequest) {
  const TestPki pki;
  const Parties p(pki);
  protocol::RelayUe relay(relay_config(p.relay));
  relay.set_job_limit(8);
  std::vector<std::unique_ptr<Source>> sources;
  std::vector<protocol::Job> jobs;
  for (int i = 0; i < 4; ++i) {
    sources.push_back(std::make_unique<Source>(pki, "ue-" + std::to_string(i), 0x000400 + i));
    auto out = relay.on_datagram(host(i), sources.back()->request(), test_now());
    ASSERT_EQ(out.jobs.size(), 1u);
    jobs.push_back(std::move(out.jobs[0]));
  }
  for (auto& j : jobs) j.run();
  for (int i = 3; i >= 0; --i) {
    const auto out = relay.on_job_done(jobs[static_cast<std::size_t>(i)].id, test_now());
    ASSERT_EQ(out.send.size(), 1u);
    EXPECT_EQ(originator_of(out.send[0].datagram), originator_of(sources[static_cast<std::size_t>(i)]->request()))
        << "request " << i;
    EXPECT_EQ(relay.pending_of_host(host(i)), 1u);
  }
}

TEST(Workers, TheTablesAreCheckedAgainWhenAJobFinishes) {
  const TestPki pki;
  const Parties p(pki);
  auto config = relay_config(p.relay);
  config.max_pending = 1;
  protocol::RelayUe relay(std::move(config));
  relay.set_job_limit(4);
  Source a(pki, "ue-a", 0x000401), b(pki, "ue-b", 0x000402);
  auto out_a = relay.on_datagram(host(1), a.request(), test_now());
  auto out_b = relay.on_datagram(host(2), b.request(), test_now());
  ASSERT_EQ(out_a.jobs.size(), 1u);
  ASSERT_EQ(out_b.jobs.size(), 1u) << "the table had room for each when it arrived";
  out_a.jobs[0].run();
  out_b.jobs[0].run();
  EXPECT_EQ(relay.on_job_done(out_a.jobs[0].id, test_now()).send.at(0).to, kTargetEndpoint);
  const auto refused = relay.on_job_done(out_b.jobs[0].id, test_now());
  EXPECT_EQ(checks(refused), std::vector<std::string>{"pending_table_full"});
  EXPECT_EQ(rejected_with(refused), Cause::kLackOfResources);
  EXPECT_EQ(relay.pending_count(), 1u);
}

TEST(Workers, ARequestWhoseCertificateARevokingReloadMeetsWhileItsJobRunsIsRefused) {
  const TestPki pki;
  const Parties p(pki);
  protocol::RelayUe relay(relay_config(p.relay));
  relay.set_job_limit(4);
  Source source(pki, "source-ue", kSourceL2);
  auto out = relay.on_datagram(kSourceEndpoint, source.request(), test_now());
  ASSERT_EQ(out.jobs.size(), 1u);
  out.jobs[0].run();  // against the trust store of before the reload: the certificate passes
  auto reloaded = p.relay;
  auto store = std::make_shared<crypto::TrustStore>(*pki.trust);
  store->set_revoked_serials({source.ue.config().self.certificate.serial_hex()});
  reloaded.trust = store;
  relay.reload(reloaded);
  const auto done = relay.on_job_done(out.jobs[0].id, test_now());
  EXPECT_EQ(checks(done), std::vector<std::string>{"source_certificate_revoked"});
  EXPECT_EQ(rejected_with(done), Cause::kAuthenticationFailure);
  EXPECT_EQ(relay.pending_count(), 0u);
}

TEST(Workers, AnAcceptWhoseRouteExpiredWhileItWasVerifiedChangesNothing) {
  const TestPki pki;
  const Parties p(pki);
  protocol::RelayUe relay(relay_config(p.relay));
  protocol::TargetUe target(target_config(p.target));
  relay.set_job_limit(4);
  Source source(pki, "source-ue", kSourceL2);
  auto out = relay.on_datagram(kSourceEndpoint, source.request(), test_now());
  out.jobs.at(0).run();
  const auto forwarded = relay.on_job_done(out.jobs[0].id, test_now());
  const auto answered = target.on_datagram(kRelayEndpoint, forwarded.send.at(0).datagram, test_now());
  auto accept_job = relay.on_datagram(kTargetEndpoint, answered.send.at(0).datagram, test_now());
  ASSERT_EQ(accept_job.jobs.size(), 1u);
  // A copy of the accept meanwhile is not verified twice.
  EXPECT_TRUE(relay.on_datagram(kTargetEndpoint, answered.send.at(0).datagram, test_now()).jobs.empty());
  const Now expired = later(test_now(), relay.config().pending_timeout + 1s);
  const auto timers = relay.on_timer(expired);
  ASSERT_EQ(timers.events.size(), 1u);
  EXPECT_EQ(timers.events[0].name, "pending_expired");
  accept_job.jobs[0].run();
  const auto done = relay.on_job_done(accept_job.jobs[0].id, expired);
  EXPECT_TRUE(done.send.empty());
  EXPECT_EQ(relay.pending_count(), 0u);
}

TEST(Workers, TheTargetAnswersInJobsRefusesBeyondItsLimitAndDropsACopyBeingAnswered) {
  const TestPki pki;
  const Parties p(pki);
  protocol::RelayUe relay(relay_config(p.relay));
  protocol::TargetUe target(target_config(p.target));
  target.set_job_limit(1);
  // Two requests through the relay (inline there).
  std::vector<Bytes> relayed;
  std::vector<std::unique_ptr<Source>> sources;
  for (int i = 0; i < 2; ++i) {
    sources.push_back(std::make_unique<Source>(pki, "ue-" + std::to_string(i), 0x000400 + i));
    relayed.push_back(relay.on_datagram(host(i), sources.back()->request(), test_now()).send.at(0).datagram);
  }
  auto first = target.on_datagram(kRelayEndpoint, relayed[0], test_now());
  ASSERT_EQ(first.jobs.size(), 1u);
  EXPECT_TRUE(first.send.empty());
  const auto copy = target.on_datagram(kRelayEndpoint, relayed[0], test_now());
  EXPECT_TRUE(copy.jobs.empty());
  EXPECT_TRUE(copy.send.empty());
  const auto second = target.on_datagram(kRelayEndpoint, relayed[1], test_now());
  EXPECT_EQ(checks(second), std::vector<std::string>{"workers_busy"});
  EXPECT_EQ(rejected_with(second), Cause::kLackOfResources);
  first.jobs[0].run();
  const auto answered = target.on_job_done(first.jobs[0].id, test_now());
  ASSERT_EQ(answered.send.size(), 1u);
  EXPECT_EQ(wire::decode_datagram(answered.send[0].datagram)->message.type(),
            wire::MessageType::kDirectCommunicationAccept);
  EXPECT_EQ(target.session_count(), 1u);
  // The copy that arrives now gets the same accept, from the session.
  EXPECT_EQ(target.on_datagram(kRelayEndpoint, relayed[0], test_now()).send.at(0).datagram, answered.send[0].datagram);
}

// The same jobs on real threads (transport::WorkerPool): many handshakes at once, their jobs run in parallel
// against one trust store and one key per node, each result handed back to the nodes' thread (here the test's).
// Under ASan and ThreadSanitizer (scripts/sanitize, scripts/tsan) this is where a data race would show.
class ThreadedNetwork {
 public:
  explicit ThreadedNetwork(std::size_t threads) : pool_(threads) {}
  void attach(const Endpoint& at, protocol::Node& node) { nodes_[at] = &node; }

  // Delivers `out` of the node at `from` and everything it leads to, jobs included, until nothing is left.
  void run(const Endpoint& from, protocol::Output out, const Now& now) {
    std::deque<std::pair<Endpoint, protocol::Output>> queue;
    queue.emplace_back(from, std::move(out));
    while (!queue.empty() || outstanding_ > 0) {
      if (queue.empty()) {
        std::unique_lock lock(mutex_);
        done_cv_.wait(lock, [&] { return !done_.empty(); });
        const auto [at, id] = done_.front();
        done_.pop_front();
        lock.unlock();
        --outstanding_;
        queue.emplace_back(at, nodes_.at(at)->on_job_done(id, now));
        continue;
      }
      auto [at, item] = std::move(queue.front());
      queue.pop_front();
      for (auto& e : item.events) events.push_back(std::move(e));
      for (auto& job : item.jobs) {
        ++outstanding_;
        ++jobs;
        pool_.post([this, at = at, job = std::move(job)] {
          job.run();
          const std::lock_guard lock(mutex_);
          done_.emplace_back(at, job.id);
          done_cv_.notify_one();
        });
      }
      for (auto& send : item.send) {
        const auto node = nodes_.find(send.to);
        if (node != nodes_.end()) queue.emplace_back(send.to, node->second->on_datagram(at, send.datagram, now));
      }
    }
  }
  std::vector<protocol::Event> events;
  std::size_t jobs = 0;

 private:
  transport::WorkerPool pool_;
  std::map<Endpoint, protocol::Node*> nodes_;
  std::size_t outstanding_ = 0;
  std::mutex mutex_;
  std::condition_variable done_cv_;
  std::deque<std::pair<Endpoint, std::uint64_t>> done_;
};

TEST(Workers, ManyHandshakesWhoseJobsRunOnFourThreadsEachGetTheirOwnKeys) {
  const TestPki pki;
  const Parties p(pki);
  auto relay_cfg = relay_config(p.relay);
  protocol::RelayUe relay(std::move(relay_cfg));
  protocol::TargetUe target(target_config(p.target));
  relay.set_job_limit(4 * protocol::kJobsPerWorker);
  target.set_job_limit(4 * protocol::kJobsPerWorker);
  ThreadedNetwork net(4);
  net.attach(kRelayEndpoint, relay);
  net.attach(kTargetEndpoint, target);
  constexpr int kSources = 24;
  std::vector<std::unique_ptr<protocol::SourceUe>> sources;
  // Every request reaches the relay before any job has finished.
  protocol::Output from_relay;
  for (int i = 0; i < kSources; ++i) {
    sources.push_back(std::make_unique<protocol::SourceUe>(
        source_config(pki.party("ue-" + std::to_string(i), crypto::Role::kUe, 0x000400 + i))));
    net.attach(host(i), *sources.back());
    const auto request = sources.back()->start(test_now()).send.at(0).datagram;
    from_relay.merge(relay.on_datagram(host(i), request, test_now()));
  }
  EXPECT_EQ(from_relay.jobs.size(), static_cast<std::size_t>(kSources));
  net.run(kRelayEndpoint, std::move(from_relay), test_now());
  EXPECT_EQ(net.jobs, 3u * kSources);
  for (int i = 0; i < kSources; ++i) {
    const auto& s = *sources[static_cast<std::size_t>(i)];
    ASSERT_TRUE(s.confirmed()) << "source " << i;
    const auto* keys = target.keys_for(s.config().self.user_info_id);
    ASSERT_NE(keys, nullptr);
    EXPECT_TRUE(keys->kd_sess == s.keys()->kd_sess) << "source " << i;
  }
  EXPECT_EQ(relay.link_count(), static_cast<std::size_t>(kSources));
  EXPECT_EQ(target.link_count(), static_cast<std::size_t>(kSources));
}

}  // namespace
}  // namespace u2u::test
