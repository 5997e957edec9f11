#include "transport/worker_pool.hpp"

#include <boost/asio/post.hpp>

#include <sched.h>

#include <thread>

namespace u2u::transport {

WorkerPool::WorkerPool(std::size_t threads) : threads_(threads), pool_(threads) {}

WorkerPool::~WorkerPool() {
  pool_.stop();
  pool_.join();
}

void WorkerPool::post(std::function<void()> work) { boost::asio::post(pool_, std::move(work)); }

std::size_t cores_available() {
  cpu_set_t cpus;
  CPU_ZERO(&cpus);
  if (::sched_getaffinity(0, sizeof cpus, &cpus) == 0 && CPU_COUNT(&cpus) > 0) {
    return static_cast<std::size_t>(CPU_COUNT(&cpus));
  }
  const unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : n;
}

}  // namespace u2u::transport
