#include "impair/impairer.hpp"

#include <algorithm>
#include <cstdio>

namespace u2u::impair {

namespace {

std::uint64_t splitmix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

// The generator of one direction: distinct streams from one seed.
std::uint64_t direction_seed(std::uint64_t seed, Direction direction) {
  return seed ^ (direction == Direction::kUp ? 0 : 0x5bd1e9955bd1e995ULL);
}

}  // namespace

bool Settings::is_identity() const {
  return loss_pct <= 0 && duplicate_pct <= 0 && reorder_pct <= 0 && corrupt_pct <= 0 && delay.count() == 0 &&
         jitter.count() == 0 && forge_reject.empty();
}

std::string Settings::describe() const {
  char text[200];
  std::snprintf(text, sizeof text,
                "loss %g%% duplicate %g%% reorder %g%% (max %lld ms) corrupt %g%% delay %lld ms jitter %lld ms",
                loss_pct, duplicate_pct, reorder_pct, static_cast<long long>(reorder_delay.count()), corrupt_pct,
                static_cast<long long>(delay.count()), static_cast<long long>(jitter.count()));
  return std::string(text) + " forge-reject " + (forge_reject.empty() ? "none" : cause_numbers(forge_reject));
}

Prng::Prng(std::uint64_t seed) {
  for (auto& word : s_) word = splitmix64(seed);
}

std::uint64_t Prng::next() {
  const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
  const std::uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

bool Prng::chance(double pct) {
  if (pct <= 0) return false;
  if (pct >= 100) return true;
  const double unit = static_cast<double>(next() >> 11) * 0x1.0p-53;  // [0, 1) with 53 random bits
  return unit * 100.0 < pct;
}

// Modulo bias is below 2^-40 for every n this tool asks for (bit positions, microseconds of jitter).
std::uint64_t Prng::below(std::uint64_t n) { return next() % n; }

Impairer::Impairer(std::array<Settings, 2> settings, std::uint64_t seed)
    : settings_(settings),
      seed_(seed),
      prng_{Prng(direction_seed(seed, Direction::kUp)), Prng(direction_seed(seed, Direction::kDown))},
      forger_({settings[0].forge_reject, settings[1].forge_reject}) {}

Micros Impairer::transit_delay(Direction direction) {
  const Settings& s = settings_[index(direction)];
  Micros d = s.delay;
  if (s.jitter.count() > 0) {
    const auto span = static_cast<std::uint64_t>(Micros(s.jitter).count()) + 1;
    d += Micros(static_cast<Micros::rep>(prng_[index(direction)].below(span)));
  }
  return d;
}

Micros Impairer::emit(std::vector<Emission>& out, FlowId flow, Direction direction, Bytes datagram, bool duplicate,
                      Micros not_before) {
  Counters& c = counters_[index(direction)];
  const Micros delay = std::max(transit_delay(direction), not_before);
  if (delay.count() > 0) ++c.delayed;
  if (duplicate) {
    const auto gap_span = static_cast<std::uint64_t>((kDuplicateGapMax - kDuplicateGapMin).count()) + 1;
    const Micros gap = kDuplicateGapMin + Micros(static_cast<Micros::rep>(prng_[index(direction)].below(gap_span)));
    out.push_back({flow, direction, delay, datagram});
    out.push_back({flow, direction, delay + gap, std::move(datagram)});
    c.forwarded += 2;
    ++c.duplicated;
  } else {
    out.push_back({flow, direction, delay, std::move(datagram)});
    ++c.forwarded;
  }
  return delay;
}

void Impairer::corrupt(Direction direction, Bytes& datagram) {
  Prng& prng = prng_[index(direction)];
  const std::uint64_t bits = datagram.size() * 8;
  const auto count = std::min<std::uint64_t>(1 + prng.below(kMaxFlippedBits), bits);
  std::array<std::uint64_t, kMaxFlippedBits> flipped{};
  for (std::uint64_t i = 0; i < count; ++i) {
    std::uint64_t bit = 0;
    do {
      bit = prng.below(bits);
    } while (std::find(flipped.begin(), flipped.begin() + static_cast<std::ptrdiff_t>(i), bit) !=
             flipped.begin() + static_cast<std::ptrdiff_t>(i));  // distinct bits, so that none flips back
    flipped[i] = bit;
    datagram[bit / 8] ^= static_cast<std::uint8_t>(1U << (bit % 8));
  }
}

std::vector<Emission> Impairer::on_datagram(FlowId flow, Direction direction, Bytes datagram, MonoTime now) {
  // The forger hears the datagram as its sender sent it, whatever then happens to it on the way.
  std::vector<Forgery> forgeries = forger_.on_datagram(direction, datagram);
  std::vector<Emission> out;
  const std::optional<Micros> delay = impair(out, flow, direction, std::move(datagram), now);
  for (Forgery& f : forgeries) {
    // A refusal goes back at once, ahead of any genuine answer; a withdrawal right after what it withdraws.
    const Micros not_before = f.direction == direction ? delay.value_or(Micros(0)) : Micros(0);
    out.push_back({flow, f.direction, not_before, std::move(f.datagram)});
    ++counters_[index(f.direction)].forged;
  }
  return out;
}

std::optional<Micros> Impairer::impair(std::vector<Emission>& out, FlowId flow, Direction direction, Bytes datagram,
                                       MonoTime now) {
  const Settings& s = settings_[index(direction)];
  Counters& c = counters_[index(direction)];
  Prng& prng = prng_[index(direction)];
  ++c.received;
  if (prng.chance(s.loss_pct)) {
    ++c.dropped;
    return std::nullopt;
  }
  if (!datagram.empty() && prng.chance(s.corrupt_pct)) {
    corrupt(direction, datagram);
    ++c.corrupted;
  }
  const bool duplicate = prng.chance(s.duplicate_pct);
  const auto key = std::pair{flow, direction};
  if (auto held = held_.find(key); held != held_.end()) {
    // This datagram overtakes the one held back; that one leaves right after it, never before.
    const Micros delay = emit(out, flow, direction, std::move(datagram), duplicate, Micros(0));
    Held h = std::move(held->second);
    held_.erase(held);
    const auto delayed_before = c.delayed;
    emit(out, flow, direction, std::move(h.datagram), h.duplicate, delay);
    c.delayed = delayed_before;  // counted as reordered, not as delayed
    ++c.reordered;
    return delay;
  }
  if (prng.chance(s.reorder_pct)) {
    held_.emplace(key, Held{std::move(datagram), duplicate, now + s.reorder_delay});
    return std::nullopt;
  }
  return emit(out, flow, direction, std::move(datagram), duplicate, Micros(0));
}

std::vector<Emission> Impairer::on_timer(MonoTime now) {
  std::vector<Emission> out;
  for (auto it = held_.begin(); it != held_.end();) {
    if (it->second.deadline > now) {
      ++it;
      continue;
    }
    const auto [flow, direction] = it->first;
    const auto delayed_before = counters_[index(direction)].delayed;
    emit(out, flow, direction, std::move(it->second.datagram), it->second.duplicate, Micros(0));
    counters_[index(direction)].delayed = delayed_before + 1;  // it waited reorder_delay: delayed, not reordered
    it = held_.erase(it);
  }
  return out;
}

std::optional<MonoTime> Impairer::next_deadline() const {
  std::optional<MonoTime> earliest;
  for (const auto& [key, held] : held_) {
    if (!earliest || held.deadline < *earliest) earliest = held.deadline;
  }
  return earliest;
}

void Impairer::forget(FlowId flow) {
  for (auto it = held_.begin(); it != held_.end();) {
    if (it->first.first == flow) {
      ++counters_[index(it->first.second)].dropped;
      it = held_.erase(it);
    } else {
      ++it;
    }
  }
}

}  // namespace u2u::impair
