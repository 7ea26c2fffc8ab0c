// Pacer: the queue of lines for the IRC server, released by a token bucket so that the server's
// flood control never disconnects us (servers let a client send a burst, then about a line a
// second; irssi waits 2.2 s per line after 5, ZNC paces the same way). No clock of its own: the
// caller passes the time and asks when the next line is due.
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <optional>
#include <string>
#include <vector>

namespace otr::proxy {

// OutLine is one line for the server with what to do if it never leaves: |replay| is the client
// line it carries out (a line the person typed), to be handled again after a reconnect; lines
// the proxy made by itself (key exchanges, fragments of ended sessions) have none.
struct OutLine {
  std::string line;  // with CR LF
  std::optional<std::string> replay;
};

class Pacer {
 public:
  using Clock = std::chrono::steady_clock;
  using TimePoint = Clock::time_point;

  // Pacer lets |burst| lines out at once, then |rate| lines per second; rate 0 means no limit.
  Pacer(std::size_t burst, double rate);

  // push queues a line behind the others.
  void push(OutLine line);
  // push_urgent sends a line ahead of the queue without using a token (PONG, registration).
  void push_urgent(std::string line) { m_urgent.push_back(std::move(line)); }
  // push_bulk queues a line that may wait behind all others and be dropped (CTCP replies: a
  // CTCP flood must not delay private conversations). Returns false when the bulk queue was
  // full (kMaxBulk) and the line was dropped.
  bool push_bulk(OutLine line);
  static constexpr std::size_t kMaxBulk = 32;

  // release returns the lines due at |now|, urgent ones first, in order.
  std::vector<std::string> release(TimePoint now);

  // next_release is when the next queued line is due, if any is waiting.
  std::optional<TimePoint> next_release() const;

  // take_all empties the queue (urgent lines included) and returns what was waiting: the
  // connection went away.
  std::deque<OutLine> take_all();

  // reset refills the bucket (a fresh connection).
  void reset(TimePoint now);

  std::size_t size() const { return m_queue.size() + m_bulk.size() + m_urgent.size(); }
  bool empty() const { return size() == 0; }

 private:
  void refill(TimePoint now);

  std::size_t m_burst;
  double m_rate;
  double m_tokens;
  std::optional<TimePoint> m_last;
  std::deque<OutLine> m_queue;
  std::deque<OutLine> m_bulk;
  std::vector<std::string> m_urgent;
};

}  // namespace otr::proxy
