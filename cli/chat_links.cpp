// ChatSession's links: the peers' connections (TCP, accepted from --listen, or the IRC
// server), what arrives on them, and what happens when one closes (a peer leaves, or the IRC
// server goes away and the session reconnects with backoff).
#include <algorithm>
#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "chat_session.hpp"

namespace otr::cli {

namespace {

constexpr std::chrono::seconds kMaxBackoff{60};

}  // namespace

bool ChatSession::connected() const {
  return std::any_of(m_links.begin(), m_links.end(),
                     [](const Link& l) { return !l.transport->closed(); });
}

Link* ChatSession::link_for(const std::string& peer) {
  for (Link& l : m_links) {
    if (l.irc != nullptr || l.peer == peer) {
      return &l;
    }
  }
  return nullptr;
}

void ChatSession::add_peer(const std::string& peer) {
  if (std::find(m_peers.begin(), m_peers.end(), peer) == m_peers.end()) {
    m_peers.push_back(peer);
  }
}

void ChatSession::accept_peer() {
  std::unique_ptr<transport::TcpTransport> t = m_listener->accept(std::chrono::milliseconds(0));
  if (!t) {
    return;
  }
  // The network names nobody: the first peer at a time is --peer, the others --peer-2, -3, ...
  std::string name = m_setup.peer;
  for (int n = 2; link_for(name) != nullptr; ++n) {
    name = m_setup.peer + "-" + std::to_string(n);
  }
  Link l;
  l.peer = name;
  l.address = t->peer_address();
  l.transport = std::move(t);
  const bool first = !connected();
  m_links.push_back(std::move(l));
  m_ever_connected = true;
  m_listen_deadline.reset();
  add_peer(name);
  m_view.peer_connected(name, m_links.back().address);
  handle_transport_events(m_links.back());
  if (first || m_current.empty() || link_for(m_current) == nullptr) {
    m_current = name;
  }
  std::size_t open_tcp = 0;
  for (const Link& x : m_links) {
    open_tcp += x.irc == nullptr && !x.transport->closed() ? 1 : 0;
  }
  if (!m_setup.keep_listening && open_tcp >= m_setup.max_peers) {
    m_listener.reset();  // nobody else is taken: free the port
  }
  if (m_setup.start) {
    m_view.command("init");
    apply(m_account->start(name, Clock::now()));
  }
}

void ChatSession::read_link(Link& link) {
  if (link.irc != nullptr) {
    if (m_room) {
      read_room(link);  // with a channel, private messages come in order with its events
    }
    for (transport::IrcMessage& m : link.irc->read_messages()) {
      receive_private(m.from, m.text);
      if (m_exit) {
        break;
      }
    }
  } else {
    for (std::string& message : link.transport->read_available()) {
      apply(m_account->receive(link.peer, message, Clock::now()));
      if (m_exit) {
        break;
      }
    }
  }
  handle_transport_events(link);
}

void ChatSession::receive_private(const std::string& from, const std::string& text) {
  if (std::find(m_peers.begin(), m_peers.end(), from) == m_peers.end()) {
    add_peer(from);
    if (!m_room || !m_room->is_member(from)) {
      m_view.new_peer(from, m_current);
    }
  }
  apply(m_account->receive(from, text, Clock::now()));
}

void ChatSession::handle_transport_events(Link& link) {
  for (const transport::TransportEvent& e : link.transport->take_events()) {
    m_view.transport_event(e);
    if (e.kind == transport::EventKind::NickChanged) {
      // The IRC line limit depends on both nicks: fragment to the new one.
      std::size_t limit = link.transport->max_message_size();
      const std::size_t cap = m_setup.max_message_cap;
      if (cap != 0 && (limit == 0 || cap < limit)) {
        limit = cap;
      }
      if (limit != m_setup.policy.max_message_size) {
        m_setup.policy.max_message_size = limit;
        m_account->set_policy(m_setup.policy);
      }
      if (link.irc != nullptr && link.irc->nick() != m_setup.nick && !m_setup.nick.empty() &&
          e.text.rfind("nick ", 0) == 0) {
        m_view.nick_taken(m_setup.nick, link.irc->nick());
      }
    } else if (e.kind == transport::EventKind::Closed) {
      m_closed_text = e.text;
    }
  }
}

void ChatSession::on_link_closed(Link& link) {
  link.reported_closed = true;
  const TimePoint now = Clock::now();
  if (link.irc != nullptr) {
    if (m_setup.reconnect && !m_finishing) {
      m_reconnect_at = now + m_backoff;
      m_view.reconnecting(m_closed_text, m_backoff);
      return;
    }
    fail(gone_reason());
    return;
  }
  // A peer left. Its conversation cannot go on over a new connection: forget it quietly (there
  // is nobody to tell, and nothing to publish keys to).
  const std::string peer = link.peer;
  m_view.peer_left(peer);
  std::vector<std::uint32_t> tags = m_account->instances(peer);
  tags.push_back(kMasterInstance);
  for (std::uint32_t tag : tags) {
    Conversation* c = m_account->find(peer, tag);
    if (c != nullptr && c->msg_state() != MsgState::Plaintext) {
      (void)m_account->end(peer, now, tag);
    }
  }
  bool others = false;
  for (const Link& l : m_links) {
    others = others || (&l != &link && !l.transport->closed());
  }
  if (others) {
    return;
  }
  if (m_listener && m_setup.keep_listening) {
    m_view.status("Waiting for the next peer on " + m_listener->address() + "...");
    return;
  }
  on_all_gone();
}

void ChatSession::reconnect_irc() {
  m_reconnect_at.reset();
  Link* link = nullptr;
  for (Link& l : m_links) {
    if (l.irc != nullptr) {
      link = &l;
    }
  }
  if (link == nullptr) {
    return;
  }
  m_view.status("Reconnecting to the IRC server...");
  try {
    link->irc->reconnect();
  } catch (const transport::TransportError& e) {
    m_backoff = std::min(m_backoff * 2, kMaxBackoff);
    m_reconnect_at = Clock::now() + m_backoff;
    m_view.status(std::string("Reconnecting failed: ") + e.what() + "; next try in " +
                  std::to_string(m_backoff.count()) + " s.");
    return;
  }
  link->reported_closed = false;
  m_backoff = std::chrono::seconds(1);
  handle_transport_events(*link);
  m_view.json(event_json("reconnected"));
  // What was typed meanwhile goes now, as it would have then: the engine encrypts it if the
  // conversation is private.
  std::deque<std::pair<std::string, std::string>> waiting;
  waiting.swap(m_offline);
  const std::string current = m_current;
  for (auto& [peer, text] : waiting) {
    m_current = peer;
    send_text(text, Clock::now());
  }
  m_current = current;
}

}  // namespace otr::cli
