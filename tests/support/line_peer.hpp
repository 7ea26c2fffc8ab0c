// LinePeer: drives one end of a Transport in the transport tests, collecting what arrives and
// waiting with poll() on native_handle() (never with sleeps). Header-only, so that only test
// targets that link otr_transport compile it.
#pragma once

#include <poll.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "otr/transport/transport.hpp"

namespace otr::test {

class LinePeer {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::chrono::milliseconds kTimeout{5000};

  explicit LinePeer(transport::Transport& t) : m_t(t) {}

  // drain reads whatever is there now, without waiting.
  void drain() {
    for (auto& m : m_t.read_available()) {
      messages.push_back(std::move(m));
    }
    for (auto& e : m_t.take_events()) {
      events.push_back(std::move(e));
    }
  }

  // wait_until polls the transport until |done| is true or |timeout| passes; returns |done|().
  bool wait_until(const std::function<bool()>& done,
                  std::chrono::milliseconds timeout = kTimeout) {
    auto deadline = Clock::now() + timeout;
    drain();
    while (!done()) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() <= 0) {
        return false;
      }
      pollfd p{m_t.native_handle(), POLLIN, 0};
      if (p.fd < 0) {
        drain();
        return done();
      }
      ::poll(&p, 1, static_cast<int>(left.count()));
      drain();
    }
    return true;
  }

  bool wait_for_messages(std::size_t n, std::chrono::milliseconds timeout = kTimeout) {
    return wait_until([&] { return messages.size() >= n; }, timeout);
  }

  bool wait_for_event(transport::EventKind kind, std::chrono::milliseconds timeout = kTimeout) {
    return wait_until([&] { return has_event(kind); }, timeout);
  }

  bool wait_closed(std::chrono::milliseconds timeout = kTimeout) {
    return wait_until([&] { return m_t.closed(); }, timeout);
  }

  bool has_event(transport::EventKind kind) const {
    return std::any_of(events.begin(), events.end(),
                       [&](const transport::TransportEvent& e) { return e.kind == kind; });
  }

  // event_text returns the text of the first event of |kind|, or "" if there is none.
  std::string event_text(transport::EventKind kind) const {
    for (const auto& e : events) {
      if (e.kind == kind) {
        return e.text;
      }
    }
    return "";
  }

  // all_events joins every event as "kind: text" lines, for failure messages.
  std::string all_events() const {
    std::string out;
    for (const auto& e : events) {
      out += std::string(transport::event_kind_name(e.kind)) + ": " + e.text + "\n";
    }
    return out;
  }

  std::vector<std::string> messages;
  std::vector<transport::TransportEvent> events;

 private:
  transport::Transport& m_t;
};

}  // namespace otr::test
