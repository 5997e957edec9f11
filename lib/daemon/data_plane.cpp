#include "daemon/data_plane.hpp"

#include <boost/asio/post.hpp>

#include <algorithm>

namespace u2u::daemon {

namespace asio = boost::asio;
using asio::ip::udp;

namespace {

constexpr Millis kSweepInterval{5000};

std::string forward_text(const config::ForwardFile& f) {
  const auto& at = f.listen ? *f.listen : *f.to;
  return f.name + ":" + std::to_string(f.bearer) + (f.listen ? " listen " : " to ") + at.address + ":" +
         std::to_string(at.port);
}

}  // namespace

struct DataPlane::Link {
  std::string session;
  dataplane::LinkLabel label{};
  dataplane::DataLink data;
  Endpoint relay;
  std::uint64_t sequence = 0;  // when it came up: the target sends on its latest link
  MonoTime came_up{};
  std::optional<MonoTime> last_received;  // the last PDU that verified
  std::uint64_t rekeys = 0;
  std::unique_ptr<asio::steady_timer> previous_keys;  // until the previous keys are wiped
};

struct DataPlane::Forward {
  config::ForwardFile file;
  std::optional<udp::socket> socket;  // listening side only
  std::optional<Endpoint> to;         // sending side only
  dataplane::ListenFlows flows;
  udp::endpoint sender;
  std::array<std::uint8_t, 65536> buffer{};
};

struct DataPlane::ToFlow {
  dataplane::LinkLabel label{};
  std::uint8_t bearer = 0;
  std::uint16_t flow = 0;
  std::unique_ptr<udp::socket> socket;
  MonoTime used{};
  std::array<std::uint8_t, 65536> buffer{};
};

DataPlane::DataPlane(asio::io_context& io, transport::UdpRunner& runner, logging::EventLog& log,
                     const config::DataFile& data, const std::string& config_file, std::uint8_t direction,
                     wire::Layer2Id own_layer2_id)
    : io_(io),
      runner_(runner),
      log_(log),
      data_(data),
      config_file_(config_file),
      direction_(direction),
      own_layer2_id_(own_layer2_id),
      sweeper_(io) {}

DataPlane::~DataPlane() = default;

Status DataPlane::open() {
  if (data_.tun) {
    auto tun =
        transport::TunDevice::open(io_, {data_.tun->name, data_.tun->address_v4, data_.tun->prefix, data_.tun->mtu});
    if (!tun) {
      return make_error(Cause::kNone, "config", config_file_ + ": data.tun: " + tun.error().reason);
    }
    tun_ = std::move(tun).value();
    tun_->start([this](ByteView packet) { from_tun(packet); }, [this] { runner_.flush_data(); });
  }
  for (const auto& f : data_.forwards) {
    auto fw = std::make_unique<Forward>();
    fw->file = f;
    const auto& at = f.listen ? *f.listen : *f.to;
    const auto endpoint = Endpoint::parse(at.address, at.port);
    const std::string key = "data.udp_forward." + f.name + (f.listen ? ".listen" : ".to");
    if (!endpoint) {
      return make_error(Cause::kNone, "config",
                        config_file_ + ": " + key + ".address: \"" + at.address + "\" is not a numeric address");
    }
    if (f.listen) {
      boost::system::error_code ec;
      fw->socket.emplace(io_);
      const udp::endpoint ep = transport::to_asio(*endpoint);
      fw->socket->open(ep.protocol(), ec);
      if (!ec) fw->socket->bind(ep, ec);
      if (ec) {
        return make_error(
            Cause::kNone, "config",
            config_file_ + ": " + key + ": cannot bind UDP " + endpoint->to_string() + ": " + ec.message());
      }
      listen_receive(*fw);
    } else {
      fw->to = endpoint;
    }
    forwards_.push_back(std::move(fw));
  }
  sweep();
  return {};
}

void DataPlane::dropped(std::string_view reason, const std::string& session) {
  log_.emit(protocol::event(protocol::Level::kDebug, "data_dropped")
                .with("reason", std::string(reason))
                .with("session", session));
}

void DataPlane::retire(const Link& link) {
  const auto& c = link.data.counters();
  retired_.sent += c.sent;
  retired_.sent_bytes += c.sent_bytes;
  retired_.received += c.received;
  retired_.received_bytes += c.received_bytes;
  for (std::size_t i = 0; i < c.dropped.size(); ++i) retired_.dropped[i] += c.dropped[i];
}

dataplane::DataCounters DataPlane::totals() const {
  dataplane::DataCounters t = retired_;
  for (const auto& [label, link] : links_) {
    const auto& c = link->data.counters();
    t.sent += c.sent;
    t.sent_bytes += c.sent_bytes;
    t.received += c.received;
    t.received_bytes += c.received_bytes;
    for (std::size_t i = 0; i < c.dropped.size(); ++i) t.dropped[i] += c.dropped[i];
  }
  return t;
}

void observe_data_plane(metrics::DaemonMetrics& m, const DataPlane& data_plane) {
  m.data_plane([&data_plane] {
    const auto t = data_plane.totals();
    const auto drops = [&](dataplane::Drop d) { return static_cast<double>(t.dropped[static_cast<std::size_t>(d)]); };
    return metrics::DaemonMetrics::DataTotals{
        .packets_sent = static_cast<double>(t.sent),
        .packets_received = static_cast<double>(t.received),
        .bytes_sent = static_cast<double>(t.sent_bytes),
        .bytes_received = static_cast<double>(t.received_bytes),
        .integrity_failures = drops(dataplane::Drop::kIntegrity),
        .replays = drops(dataplane::Drop::kDuplicate) + drops(dataplane::Drop::kTooOld)};
  });
}

protocol::Event& DataPlane::with_counters(protocol::Event& e, const Link& link) const {
  const auto& c = link.data.counters();
  std::int64_t drops = 0;
  for (auto d : c.dropped) drops += static_cast<std::int64_t>(d);
  e.with("sent", static_cast<std::int64_t>(c.sent))
      .with("sent_bytes", static_cast<std::int64_t>(c.sent_bytes))
      .with("received", static_cast<std::int64_t>(c.received))
      .with("received_bytes", static_cast<std::int64_t>(c.received_bytes))
      .with("dropped", drops)
      .with("integrity_failures",
            static_cast<std::int64_t>(c.dropped[static_cast<std::size_t>(dataplane::Drop::kIntegrity)]))
      .with("replays", static_cast<std::int64_t>(c.dropped[static_cast<std::size_t>(dataplane::Drop::kDuplicate)] +
                                                 c.dropped[static_cast<std::size_t>(dataplane::Drop::kTooOld)]))
      .with("rekeys", static_cast<std::int64_t>(link.rekeys))
      .with("data_kd_sess_id", static_cast<std::int64_t>(link.data.kd_sess_id()));
  for (std::size_t i = 0; i < c.dropped.size(); ++i) {
    e.with("dropped_" + std::string(dataplane::drop_name(static_cast<dataplane::Drop>(i))),
           static_cast<std::int64_t>(c.dropped[i]));
  }
  return e;
}

protocol::Event DataPlane::down_event(const Link& link, const std::string& reason) const {
  auto e =
      protocol::event(protocol::Level::kInfo, "data_plane_down").with("session", link.session).with("reason", reason);
  with_counters(e, link);
  return e;
}

void DataPlane::log_link_stats() {
  for (const auto& [label, link] : links_) {
    auto e = protocol::event(protocol::Level::kInfo, "link_stats").with("session", link->session);
    log_.emit(std::move(with_counters(e, *link)));
  }
}

void DataPlane::link_up(const std::string& session, const wire::Digest& request_digest,
                        const protocol::SessionKeys& keys, const Endpoint& relay, wire::Layer2Id relay_layer2_id) {
  if (direction_ == dataplane::kDirectionFromSource) {
    for (auto& [label, link] : links_) {
      log_.emit(down_event(*link, "replaced by a new link"));
      retire(*link);
    }
    links_.clear();
    to_flows_.clear();
    current_ = nullptr;
  }
  const dataplane::Suite suite = keys.data_suite;
  auto data = dataplane::DataLink::create({suite, dataplane::derive_nrp_keys(keys.kd_sess, suite), direction_,
                                           dataplane::link_label(request_digest), keys.data_kd_sess_id, own_layer2_id_,
                                           relay_layer2_id});
  if (!data) {
    log_.emit(protocol::event(protocol::Level::kError, "data_plane_down")
                  .with("session", session)
                  .with("reason", data.error().reason));
    return;
  }
  const MonoTime now = Now::read().mono;
  auto link = std::make_unique<Link>(Link{
      session, dataplane::link_label(request_digest), std::move(data).value(), relay, ++links_up_, now, {}, 0, {}});
  current_ = link.get();
  std::string forwards;
  for (const auto& f : data_.forwards) forwards += (forwards.empty() ? "" : ", ") + forward_text(f);
  auto up = protocol::event(protocol::Level::kInfo, "data_plane_up")
                .with("session", session)
                .with("data_suite", std::string(dataplane::suite_name(suite)))
                .with("tun", tun_ ? tun_->name() + " " + data_.tun->address + " mtu " + std::to_string(data_.tun->mtu)
                                  : std::string("none"))
                .with("forwards", forwards.empty() ? std::string("none") : forwards);
  if (down_since_) {
    // Traffic resumes on a new link (after a relay restart, say): how long there was no link, how long nothing had
    // come in (since the last PDU of the link before), and what was dropped for want of a link.
    up.with("resumed_after_ms", std::chrono::duration_cast<Millis>(now - *down_since_).count())
        .with("silent_for_ms", std::chrono::duration_cast<Millis>(now - silent_since_).count())
        .with("dropped_while_down", static_cast<std::int64_t>(no_link_drops_ - no_link_drops_at_down_));
    down_since_.reset();
  }
  log_.emit(std::move(up));
  links_.insert_or_assign(link->label, std::move(link));
}

void DataPlane::link_down(const std::string& session, const std::string& reason) {
  for (auto it = links_.begin(); it != links_.end(); ++it) {
    if (it->second->session != session) continue;
    log_.emit(down_event(*it->second, reason));
    retire(*it->second);
    const MonoTime last_heard = it->second->last_received.value_or(it->second->came_up);
    const dataplane::LinkLabel label = it->first;
    std::erase_if(to_flows_, [&](const auto& f) { return f.first.first == label; });
    const bool was_current = current_ == it->second.get();
    links_.erase(it);
    if (was_current) {
      current_ = nullptr;
      for (auto& [l, link] : links_) {
        if (current_ == nullptr || link->sequence > current_->sequence) current_ = link.get();
      }
    }
    if (links_.empty()) {
      down_since_ = Now::read().mono;
      silent_since_ = last_heard;
      no_link_drops_at_down_ = no_link_drops_;
    }
    return;
  }
}

DataPlane::Link* DataPlane::find(const std::string& session) {
  for (auto& [label, link] : links_) {
    if (link->session == session) return link.get();
  }
  return nullptr;
}

void DataPlane::keep_previous(Link& link) {
  if (!link.previous_keys) link.previous_keys = std::make_unique<asio::steady_timer>(io_);
  link.previous_keys->expires_after(protocol::kRekeyOldKeysLinger);
  link.previous_keys->async_wait([&link](boost::system::error_code ec) {
    if (!ec) link.data.drop_previous();
  });
}

void DataPlane::rekey_next(const std::string& session, const protocol::SessionKeys& next) {
  Link* link = find(session);
  if (link == nullptr) return;
  if (auto s = link->data.install_next(dataplane::derive_nrp_keys(next.kd_sess, next.data_suite), next.data_kd_sess_id);
      !s) {
    log_.emit(protocol::event(protocol::Level::kError, "data_rekey_failed")
                  .with("session", session)
                  .with("reason", s.error().reason));
  }
}

void DataPlane::rekeyed(const std::string& session, const protocol::SessionKeys& keys) {
  Link* link = find(session);
  if (link == nullptr) return;
  ++link->rekeys;
  if (link->data.kd_sess_id() == keys.data_kd_sess_id) return;  // switched already: the peer sent under them
  if (link->data.use_next(keys.data_kd_sess_id)) {
    keep_previous(*link);
    return;
  }
  if (auto s = link->data.use_keys(dataplane::derive_nrp_keys(keys.kd_sess, keys.data_suite), keys.data_kd_sess_id);
      !s) {
    log_.emit(protocol::event(protocol::Level::kError, "data_rekey_failed")
                  .with("session", session)
                  .with("reason", s.error().reason));
    return;
  }
  keep_previous(*link);
}

void DataPlane::all_down(const std::string& reason) {
  while (!links_.empty()) link_down(links_.begin()->second->session, reason);
}

void DataPlane::send(Link& link, std::uint8_t bearer, ByteView payload) {
  if (link.data.exhausted()) {
    dropped("count_exhausted", link.session);
    return;
  }
  auto n = link.data.protect(bearer, payload, out_);
  if (!n) {
    dropped("too_large", link.session);
    return;
  }
  runner_.queue_data(link.relay, ByteView(out_.data(), *n));
  // Rekeying by count (docs/protocol.md 12.1): asked for at the threshold, and again while none completes.
  if (const auto trigger = dataplane::rekey_trigger(link.data.next_count(), data_.rekey_after_packets);
      trigger && rekey_wanted_) {
    asio::post(io_, [this, session = link.session, t = std::string(*trigger)] { rekey_wanted_(session, t); });
  }
  if (link.data.exhausted()) {
    // COUNT may not repeat under this key: the link ends, later (the caller may still hold what the link owns).
    asio::post(io_, [this, session = link.session] {
      link_down(session, "COUNT exhausted under this KD-sess: the link must be established anew");
      if (exhausted_) exhausted_(session);
    });
  }
}

void DataPlane::from_tun(ByteView packet) {
  if (current_ == nullptr) {
    ++no_link_drops_;
    dropped("no_link", "");
    return;
  }
  send(*current_, dataplane::kTunBearer, packet);
}

void DataPlane::listen_receive(Forward& f) {
  // The payload is sent as flow ID (2) || datagram: received 2 octets into the buffer to need no copy.
  f.socket->async_receive_from(
      asio::buffer(f.buffer.data() + dataplane::kFlowIdSize, f.buffer.size() - dataplane::kFlowIdSize), f.sender,
      [this, &f](boost::system::error_code ec, std::size_t n) {
        if (ec == asio::error::operation_aborted || !f.socket->is_open()) return;
        if (!ec) {
          if (current_ == nullptr) {
            ++no_link_drops_;
            dropped("no_link", "");
          } else if (auto flow = f.flows.flow_of(transport::from_asio(f.sender), Now::read().mono)) {
            f.buffer[0] = static_cast<std::uint8_t>(*flow >> 8);
            f.buffer[1] = static_cast<std::uint8_t>(*flow);
            send(*current_, f.file.bearer, ByteView(f.buffer.data(), n + dataplane::kFlowIdSize));
            runner_.flush_data();
          } else {
            dropped("flows_full", current_->session);
          }
        }
        listen_receive(f);
      });
}

void DataPlane::on_pdu(const Endpoint&, std::span<std::uint8_t> datagram) {
  if (datagram.size() < dataplane::kPduPrefixSize) {
    dropped("format", "");
    return;
  }
  dataplane::LinkLabel label{};
  std::copy_n(datagram.begin() + wire::kHeaderSize + 1, label.size(), label.begin());
  auto it = links_.find(label);
  if (it == links_.end()) {
    dropped("link", "");
    return;
  }
  Link& link = *it->second;
  const auto result = link.data.unprotect(datagram);
  if (const auto* drop = std::get_if<dataplane::Drop>(&result)) {
    dropped(dataplane::drop_name(*drop), link.session);
    return;
  }
  link.last_received = Now::read().mono;
  const auto& delivery = std::get<dataplane::Delivery>(result);
  if (delivery.switched) keep_previous(link);  // the peer sends under the next keys: so does this end now
  deliver(link, delivery);
}

void DataPlane::deliver(Link& link, const dataplane::Delivery& d) {
  if (d.bearer == dataplane::kTunBearer) {
    if (!tun_) {
      dropped("no_tun", link.session);
    } else if (!tun_->write(d.payload)) {
      dropped("tun_write", link.session);
    }
    return;
  }
  auto fw = std::find_if(forwards_.begin(), forwards_.end(), [&](const auto& f) { return f->file.bearer == d.bearer; });
  if (fw == forwards_.end() || d.payload.size() < dataplane::kFlowIdSize) {
    dropped("bearer", link.session);
    return;
  }
  Forward& f = **fw;
  const auto flow = static_cast<std::uint16_t>((d.payload[0] << 8) | d.payload[1]);
  const ByteView body(d.payload.data() + dataplane::kFlowIdSize, d.payload.size() - dataplane::kFlowIdSize);
  const MonoTime now = Now::read().mono;
  if (f.socket) {
    // An answer to a client of this end's listening forward.
    const auto client = f.flows.client_of(flow, now);
    if (!client) {
      dropped("flow", link.session);
      return;
    }
    boost::system::error_code ec;
    f.socket->send_to(asio::buffer(body.data(), body.size()), transport::to_asio(*client), 0, ec);
    if (ec) dropped("forward_send", link.session);
    return;
  }
  // Towards this end's `to`: one socket per (link, bearer, flow), so that its answers find the flow again.
  const auto key = std::make_pair(link.label, (std::uint32_t{d.bearer} << 16) | flow);
  auto it = to_flows_.find(key);
  if (it == to_flows_.end()) {
    auto tf = std::make_unique<ToFlow>();
    tf->label = link.label;
    tf->bearer = d.bearer;
    tf->flow = flow;
    tf->socket = std::make_unique<udp::socket>(io_);
    boost::system::error_code ec;
    const udp::endpoint to = transport::to_asio(*f.to);
    tf->socket->open(to.protocol(), ec);
    if (!ec) tf->socket->connect(to, ec);
    if (ec) {
      dropped("forward_socket", link.session);
      return;
    }
    it = to_flows_.emplace(key, std::move(tf)).first;
    to_flow_receive(*it->second);
  }
  it->second->used = now;
  boost::system::error_code ec;
  it->second->socket->send(asio::buffer(body.data(), body.size()), 0, ec);
  if (ec) dropped("forward_send", link.session);
}

void DataPlane::to_flow_receive(ToFlow& flow) {
  flow.socket->async_receive(
      asio::buffer(flow.buffer.data() + dataplane::kFlowIdSize, flow.buffer.size() - dataplane::kFlowIdSize),
      [this, &flow](boost::system::error_code ec, std::size_t n) {
        if (ec == asio::error::operation_aborted || !flow.socket->is_open()) return;
        if (!ec) {
          flow.used = Now::read().mono;
          auto link = links_.find(flow.label);
          if (link == links_.end()) {
            dropped("link", "");
          } else {
            flow.buffer[0] = static_cast<std::uint8_t>(flow.flow >> 8);
            flow.buffer[1] = static_cast<std::uint8_t>(flow.flow);
            send(*link->second, flow.bearer, ByteView(flow.buffer.data(), n + dataplane::kFlowIdSize));
            runner_.flush_data();
          }
        }
        // An ICMP port unreachable from `to` (ec set) does not end the flow.
        if (flow.socket->is_open()) to_flow_receive(flow);
      });
}

void DataPlane::sweep() {
  const MonoTime now = Now::read().mono;
  for (auto& f : forwards_) f->flows.expire(now);
  std::erase_if(to_flows_, [&](const auto& f) { return now - f.second->used > Millis(dataplane::kDefaultFlowIdleMs); });
  sweeper_.expires_after(kSweepInterval);
  sweeper_.async_wait([this](boost::system::error_code ec) {
    if (!ec) sweep();
  });
}

Status start_data_plane(std::optional<DataPlane>& plane, asio::io_context& io, transport::UdpRunner& runner,
                        logging::EventLog& log, const config::DataFile& data, const std::string& config_file,
                        std::uint8_t direction, wire::Layer2Id own_layer2_id) {
  if (!data.enabled()) return {};
  plane.emplace(io, runner, log, data, config_file, direction, own_layer2_id);
  if (auto s = plane->open(); !s) return s;
  runner.set_data_handler([&plane](const Endpoint& from, std::span<std::uint8_t> d) -> std::optional<Endpoint> {
    plane->on_pdu(from, d);
    return std::nullopt;
  });
  return {};
}

}  // namespace u2u::daemon
