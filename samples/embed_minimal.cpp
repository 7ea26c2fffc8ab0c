// embed_minimal: the smallest useful embedding of otrchat's engine. Two conversations, Alice's
// and Bob's, run in one process; a queue stands in for the network. The engine does no I/O: each
// call returns actions, and this program carries them out.
#include <deque>
#include <iostream>
#include <string>

#include "otr/conversation.hpp"

namespace {

// Carries out |actions| for |who|: messages for the peer go on |wire|, the rest is printed.
void apply(const char* who, otr::Actions actions, std::deque<std::string>& wire) {
  for (otr::Action& a : actions) {
    if (auto* s = std::get_if<otr::SendToPeer>(&a)) {
      std::cout << "  " << who << " -> wire: " << s->message.substr(0, 60)
                << (s->message.size() > 60 ? "..." : "") << "\n";
      wire.push_back(std::move(s->message));
    } else if (auto* p = std::get_if<otr::ShowPlaintext>(&a)) {
      std::cout << "  " << who << " reads: \"" << p->text << "\""
                << (p->encrypted ? " (encrypted)" : " (NOT encrypted)") << "\n";
    } else if (auto* c = std::get_if<otr::StateChanged>(&a)) {
      std::cout << "  " << who << " is now " << otr::msg_state_name(c->to) << "\n";
    } else if (auto* f = std::get_if<otr::PeerFingerprint>(&a)) {
      std::cout << "  " << who << " sees the peer's fingerprint "
                << otr::fingerprint_human(f->fingerprint) << "\n";
    } else if (auto* n = std::get_if<otr::Notice>(&a)) {
      std::cout << "  " << who << " notice: " << n->text << "\n";
    }
  }
}

}  // namespace

int main() {
  otr::GcryptRng rng;
  std::cout << "Generating two DSA keys (about a second each)...\n";
  otr::Identity alice_id{otr::PrivateKey::generate(), 0x0a11ce00, "alice"};
  otr::Identity bob_id{otr::PrivateKey::generate(), 0x0b0b0000, "bob"};
  otr::Conversation alice(alice_id, otr::Policy::opportunistic(), rng);
  otr::Conversation bob(bob_id, otr::Policy::opportunistic(), rng);
  std::deque<std::string> to_bob, to_alice;
  auto now = otr::Clock::now();
  auto deliver = [&] {
    while (!to_bob.empty() || !to_alice.empty()) {
      if (!to_bob.empty()) {
        std::string m = to_bob.front();
        to_bob.pop_front();
        apply("bob", bob.receive(m, now), to_alice);
      }
      if (!to_alice.empty()) {
        std::string m = to_alice.front();
        to_alice.pop_front();
        apply("alice", alice.receive(m, now), to_bob);
      }
    }
  };

  std::cout << "\nAlice asks for a private conversation:\n";
  apply("alice", alice.start(now), to_bob);
  deliver();
  std::cout << "\nAlice and Bob chat:\n";
  apply("alice", alice.send("Hi Bob, nobody else can read this.", now), to_bob);
  deliver();
  apply("bob", bob.send("And nobody can prove I wrote this.", now), to_alice);
  deliver();
  std::cout << "\nAlice ends the conversation:\n";
  apply("alice", alice.end(now), to_bob);
  deliver();
  return alice.msg_state() == otr::MsgState::Plaintext &&
                 bob.msg_state() == otr::MsgState::Finished
             ? 0
             : 1;
}
