#include "proxy/pacer.hpp"

#include <algorithm>
#include <cmath>

namespace otr::proxy {

Pacer::Pacer(std::size_t burst, double rate)
    : m_burst(std::max<std::size_t>(burst, 1)),
      m_rate(rate),
      m_tokens(static_cast<double>(m_burst)) {}

void Pacer::push(OutLine line) {
  m_queue.push_back(std::move(line));
}

bool Pacer::push_bulk(OutLine line) {
  if (m_bulk.size() >= kMaxBulk) {
    return false;
  }
  m_bulk.push_back(std::move(line));
  return true;
}

void Pacer::refill(TimePoint now) {
  if (!m_last) {
    m_last = now;
    return;
  }
  if (now <= *m_last) {
    return;
  }
  const double elapsed = std::chrono::duration<double>(now - *m_last).count();
  m_tokens = std::min(static_cast<double>(m_burst), m_tokens + elapsed * m_rate);
  m_last = now;
}

std::vector<std::string> Pacer::release(TimePoint now) {
  std::vector<std::string> out;
  out.swap(m_urgent);
  if (m_rate > 0) {
    refill(now);
  }
  for (std::deque<OutLine>* q : {&m_queue, &m_bulk}) {
    while (!q->empty() && (m_rate <= 0 || m_tokens >= 1.0)) {
      if (m_rate > 0) {
        m_tokens -= 1.0;
      }
      out.push_back(std::move(q->front().line));
      q->pop_front();
    }
  }
  return out;
}

std::optional<Pacer::TimePoint> Pacer::next_release() const {
  if (!m_urgent.empty()) {
    return m_last.value_or(TimePoint{});
  }
  if (m_queue.empty() && m_bulk.empty()) {
    return std::nullopt;
  }
  if (m_rate <= 0 || m_tokens >= 1.0 || !m_last) {
    return m_last.value_or(TimePoint{});
  }
  const double wait = (1.0 - m_tokens) / m_rate;
  return *m_last + std::chrono::ceil<Clock::duration>(std::chrono::duration<double>(wait));
}

std::deque<OutLine> Pacer::take_all() {
  std::deque<OutLine> out;
  out.swap(m_queue);
  m_bulk.clear();  // CTCP replies to a connection that is gone are not worth keeping
  m_urgent.clear();
  return out;
}

void Pacer::reset(TimePoint now) {
  m_tokens = static_cast<double>(m_burst);
  m_last = now;
}

}  // namespace otr::proxy
