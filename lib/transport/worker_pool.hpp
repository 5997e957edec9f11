#pragma once
// The threads that run a node's jobs (protocol::Job: a step's signature work, issue 11) beside the I/O thread. The
// node stays single-threaded: a job touches only what it captured, and its result goes back to the I/O thread.
#include <utility>  // before Asio under g++ 12 (std::exchange)

#include <boost/asio/thread_pool.hpp>

#include <cstddef>
#include <functional>

namespace u2u::transport {

class WorkerPool {
 public:
  explicit WorkerPool(std::size_t threads);
  // Stops: jobs not yet started are dropped; those running finish first.
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  std::size_t size() const { return threads_; }
  void post(std::function<void()> work);

 private:
  std::size_t threads_;
  boost::asio::thread_pool pool_;
};

// One per core this process may run on (systemd's CPUAffinity= and cpusets included): `workers: auto`.
std::size_t cores_available();

}  // namespace u2u::transport
