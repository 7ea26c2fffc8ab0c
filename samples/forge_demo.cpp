// forge_demo: OTR's deniability, shown step by step.
//
// Alice and Bob talk over OTR (two otr::Conversations in this process, wired action to action).
// Eve records every message on the wire. Later, with nothing but that recording, Eve turns
// Alice's "I will pay Bob 100 EUR" into "I will pay Bob 900 EUR", and the forgery checks out
// exactly like the original. Then, with one Diffie-Hellman key seized from Alice's device, she
// rewrites the message completely. Bob's live session rejects every forgery, while an offline
// verifier accepts them all: a transcript of an OTR conversation proves nothing about who said
// what. Each step names the libotr-bin program (man otr_toolkit) that does the same job.
//
// Only public headers: otr/conversation.hpp, otr/toolkit.hpp, otr/wire.hpp. The program exits 1
// if any check fails (it runs as the CTest "forge_demo"). --save-transcript FILE also writes
// Eve's recording, for the otrchat tools (otrchat parse, otrchat audit).
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "otr/conversation.hpp"
#include "otr/init.hpp"
#include "otr/toolkit.hpp"
#include "otr/wire.hpp"

namespace tk = otr::toolkit;

namespace {

constexpr std::uint32_t kAliceTag = 0x0a11ce01;
constexpr std::uint32_t kBobTag = 0x0b0b0b01;

int g_failures = 0;

void check(bool ok, const std::string& what) {
  std::cout << (ok ? "  [ok] " : "  [FAILED] ") << what << "\n";
  if (!ok) {
    ++g_failures;
  }
}

void say(const std::string& text) {
  std::cout << text << "\n";
}

void step(int n, const std::string& title) {
  std::cout << "\n=== Step " << n << ": " << title << " ===\n";
}

std::string shorten(const std::string& s, std::size_t n = 56) {
  return s.size() <= n ? s : s.substr(0, n) + "... (" + std::to_string(s.size()) + " chars)";
}

// Party is one person with a conversation; what the conversation asks to send goes through the
// Network, where Eve records it.
struct Party {
  std::string name;
  otr::Conversation* conv = nullptr;
  std::vector<std::string> shown;  // plaintext this person read
  std::vector<otr::Notice> notices;
};

class Network {
 public:
  Network(Party& alice, Party& bob, tk::Transcript& eve) : m_alice(alice), m_bob(bob), m_eve(eve) {}

  // act carries out |actions| of |from|, delivering what it sends (and the replies) until quiet.
  void act(Party& from, otr::Actions actions) {
    Party& to = &from == &m_alice ? m_bob : m_alice;
    for (otr::Action& a : actions) {
      if (auto* s = std::get_if<otr::SendToPeer>(&a)) {
        m_eve.add(from.name, s->message);  // Eve sees everything on the wire
        act(to, to.conv->receive(s->message, m_now));
      } else if (auto* p = std::get_if<otr::ShowPlaintext>(&a)) {
        from.shown.push_back(p->text);
        std::cout << "    " << from.name << " reads: \"" << p->text << "\"\n";
      } else if (auto* c = std::get_if<otr::StateChanged>(&a)) {
        std::cout << "    " << from.name << " is now " << otr::msg_state_name(c->to) << "\n";
      } else if (auto* n = std::get_if<otr::Notice>(&a)) {
        from.notices.push_back(*n);
      }
    }
  }

  otr::TimePoint now() const { return m_now; }

 private:
  Party& m_alice;
  Party& m_bob;
  tk::Transcript& m_eve;
  otr::TimePoint m_now = otr::Clock::now();
};

std::string describe(const tk::ParsedEntry& e) {
  if (!e.parsed) {
    return e.parsed.error().message;
  }
  std::string out = e.parsed->title;
  if (e.parsed->kind == tk::MessageKind::Data) {
    out += " (keyids " + e.parsed->find("Sender keyid")->text + "/" +
           e.parsed->find("Rcpt keyid")->text + ", " +
           std::to_string(e.parsed->find("Encrypted message")->text.size() / 2) +
           " encrypted bytes" +
           (e.parsed->find("Revealed MAC keys") != nullptr
                ? ", reveals " + e.parsed->find("Revealed MAC keys")->text
                : std::string()) +
           ")";
  }
  return out;
}

// bob_accepts feeds |message| to Bob's live conversation and says whether he would show it.
bool bob_accepts(Party& bob, const std::string& message, otr::TimePoint now) {
  otr::Actions actions = bob.conv->receive(message, now);
  bool shown = false;
  for (const otr::Action& a : actions) {
    if (const auto* p = std::get_if<otr::ShowPlaintext>(&a)) {
      shown = true;
      std::cout << "    Bob's OTR shows: \"" << p->text << "\"\n";
    } else if (const auto* n = std::get_if<otr::Notice>(&a)) {
      std::cout << "    Bob's OTR says (" << otr::notice_code_name(n->code) << "): " << n->text
                << "\n";
    } else if (const auto* s = std::get_if<otr::SendToPeer>(&a)) {
      std::cout << "    Bob's OTR would answer: " << shorten(s->message) << "\n";
    }
  }
  return shown;
}

}  // namespace

int main(int argc, char** argv) {
  // forge_demo [--save-transcript FILE]: also write Eve's recording, to try the otrchat tools on
  // (otrchat parse FILE, otrchat audit --dh-keys FILE).
  std::string save_path;
  if (argc == 3 && std::string(argv[1]) == "--save-transcript") {
    save_path = argv[2];
  } else if (argc != 1) {
    std::cerr << "usage: forge_demo [--save-transcript FILE]\n";
    return 2;
  }
  otr::init();
  say("OTR deniability demo: a transcript of an OTR conversation proves nothing.");
  say("The same steps with libotr's tools are in `man otr_toolkit`.");

  // --- 1 ---
  step(1, "Alice and Bob start a private conversation; Eve records the wire");
  say("Generating two long-term DSA keys (a second or two)...");
  otr::GcryptRng rng;
  otr::Identity alice_id{otr::PrivateKey::generate(), kAliceTag, "alice"};
  otr::Identity bob_id{otr::PrivateKey::generate(), kBobTag, "bob"};
  otr::Conversation alice_conv(alice_id, otr::Policy::manual(), rng);
  otr::Conversation bob_conv(bob_id, otr::Policy::manual(), rng);
  Party alice{"alice", &alice_conv, {}, {}};
  Party bob{"bob", &bob_conv, {}, {}};
  tk::Transcript eve;
  Network net(alice, bob, eve);
  net.act(alice, alice_conv.start(net.now()));
  check(alice_conv.msg_state() == otr::MsgState::Encrypted &&
            bob_conv.msg_state() == otr::MsgState::Encrypted,
        "both sides are encrypted (the AKE took " + std::to_string(eve.messages.size()) +
            " messages)");

  // --- 2 ---
  step(2, "They chat; Alice promises to pay");
  net.act(alice, alice_conv.send("Hi Bob, about the bike you sold me.", net.now()));
  net.act(bob, bob_conv.send("Hi Alice! Yes?", net.now()));
  net.act(alice, alice_conv.send("I will pay Bob 100 EUR", net.now()));
  const std::size_t promise_number = eve.messages.size();
  const std::string promise = eve.messages.back().wire;
  // Eve will also seize Alice's device at this moment (used in step 6).
  std::vector<otr::toolkit::ForensicDhKey> seized = otr::toolkit::forensic_dh_keys(alice_conv);
  net.act(bob, bob_conv.send("Deal. Thanks!", net.now()));
  net.act(alice, alice_conv.send("See you tomorrow.", net.now()));
  net.act(bob, bob_conv.send("Bye!", net.now()));
  check(!bob.shown.empty() && bob.shown.size() >= 3 && bob.shown[1] == "I will pay Bob 100 EUR",
        "Bob read Alice's promise");

  // --- 3 ---
  step(3, "What Eve has: the transcript (what otr_parse would show)");
  std::string recording = tk::write_transcript(eve);
  if (!save_path.empty()) {
    std::ofstream(save_path, std::ios::binary) << recording;
    say("(saved to " + save_path + ": try `otrchat parse` and `otrchat audit` on it)");
  }
  say("Eve's file is otrchat's line framing with sender labels (" +
      std::string(tk::kTranscriptHeader) + ", then SENDER<TAB>MESSAGE):");
  {
    std::size_t shown_lines = 0;
    for (std::size_t pos = 0; pos < recording.size() && shown_lines < 4; ++shown_lines) {
      std::size_t lf = recording.find('\n', pos);
      std::string line = recording.substr(pos, lf - pos);
      if (std::size_t tab = line.find('\t'); tab != std::string::npos) {
        line.replace(tab, 1, "<TAB>");
      }
      std::cout << "    | " << shorten(line, 60) << "\n";
      pos = lf + 1;
    }
    std::cout << "    | ...\n";
  }
  tk::Transcript transcript = tk::read_transcript(recording);
  check(transcript.messages.size() == eve.messages.size() && transcript.problems.empty(),
        "the recording reads back: " + std::to_string(transcript.messages.size()) + " messages");
  for (const tk::ParsedEntry& e : tk::parse_transcript(transcript)) {
    std::cout << "    " << e.number << "  " << e.sender << ": " << describe(e) << "\n";
  }
  say("Everything is encrypted: Eve cannot read a word. But data messages are authenticated");
  say("with a MAC whose key both Alice and Bob know, and OTR *publishes* that key once the");
  say("key pair is retired (the 'reveals' above). From then on, anyone can make such a MAC.");

  // --- 4 ---
  step(4, "The audit: which messages could anyone have forged?");
  say("For each data message, look for a later message that reveals a key under which its");
  say("MAC verifies (otr_parse lists revealed keys; `otrchat audit` does the matching).");
  tk::AuditReport report = tk::audit(transcript);
  for (const tk::AuditedMessage& m : report.data_messages) {
    std::cout << "    message " << m.number << " (" << m.sender << "): "
              << (m.forgeable() ? "forgeable, its MAC key " + otr::to_hex(*m.mac_key) +
                                      " was published in message " + std::to_string(*m.published_by)
                                : std::string("not forgeable from this transcript (key not "
                                              "published yet)"))
              << "\n";
  }
  const tk::AuditedMessage* target = nullptr;
  for (const tk::AuditedMessage& m : report.data_messages) {
    if (m.number == promise_number) {
      target = &m;
    }
  }
  check(target != nullptr && target->forgeable(),
        "the promise (message " + std::to_string(promise_number) + ") has a published MAC key");
  if (target == nullptr || !target->forgeable()) {
    std::cout << "\nStopping: nothing to forge with.\n";
    return 1;
  }
  const otr::Bytes published_key(target->mac_key->begin(), target->mac_key->end());

  // --- 5 ---
  step(5, "Eve forges with the transcript alone: 100 EUR becomes 900 EUR (otr_modify)");
  say("AES-CTR encrypts by XOR with a keystream, so XORing ('100' xor '900') into the");
  say("ciphertext at the right offset changes the plaintext the same way, without the AES key.");
  say("Eve only needs a guess of the text: 22 characters (the ciphertext has 23 bytes: the");
  say("text and a NUL), 'I will pay Bob 100 EUR', with the amount at offset 15. Then she");
  say("recomputes the MAC with the published key (otr_remac does that part on its own).");
  say("  libotr:  otr_modify <published MAC key> 100 900 15 < message" +
      std::to_string(promise_number) + ".otr");
  say("  otrchat: otrchat modify <published MAC key> 100 900 15 < message" +
      std::to_string(promise_number) + ".otr");
  otr::Result<tk::ModifyResult> forged =
      tk::modify(promise, otr::ByteView(published_key), "100", "900", 15);
  check(forged.ok(), "modify(...) made a forgery" + (forged.ok() ? ": " + shorten(forged->message)
                                                                 : ": " + forged.error().message));
  if (!forged.ok()) {
    return 1;
  }
  say("An offline verifier (a judge, a journalist) checks both messages against the key:");
  otr::Result<bool> original_ok = tk::verify_mac(promise, published_key);
  otr::Result<bool> forged_ok = tk::verify_mac(forged->message, published_key);
  check(original_ok.ok() && *original_ok, "the original's MAC verifies");
  check(forged_ok.ok() && *forged_ok, "the forgery's MAC verifies exactly the same way");
  say("So the MAC cannot tell them apart: it proves only that *someone holding the key* made");
  say("the message, and since the key was published, that is anyone.");
  say("And Bob's live session? His keys for that message are gone, so he rejects it:");
  check(!bob_accepts(bob, forged->message, net.now()), "Bob's conversation rejects the forgery");
  check(!bob_accepts(bob, promise, net.now()),
        "...and the original, replayed now, just the same: live, nothing new can be injected");

  // --- 6 ---
  step(6, "With a seized key, Eve can read and rewrite everything (otr_sesskeys, otr_readforge)");
  say("Suppose Eve seized Alice's device right after the promise was sent. In its memory are");
  say("Alice's current Diffie-Hellman private keys (toolkit::forensic_dh_keys, a forensic");
  say("accessor for demos):");
  for (const otr::toolkit::ForensicDhKey& k : seized) {
    std::cout << "    Alice's DH key id " << k.keyid << ": "
              << shorten(otr::to_hex(k.private_key.view()), 24) << "\n";
  }
  const otr::toolkit::ForensicDhKey* x_alice = nullptr;
  for (const otr::toolkit::ForensicDhKey& k : seized) {
    if (k.keyid == target->sender_keyid) {
      x_alice = &k;
    }
  }
  std::optional<tk::TranscriptDhKey> y_bob;
  for (const tk::TranscriptDhKey& k : tk::find_dh_public_keys(transcript)) {
    if (k.sender_instance == kBobTag && k.keyid == target->recipient_keyid) {
      y_bob = k;
    }
  }
  check(x_alice != nullptr, "the device held the key the promise was sent with (key id " +
                                std::to_string(target->sender_keyid) + ")");
  check(y_bob.has_value(),
        "Bob's public key id " + std::to_string(target->recipient_keyid) + " is in the transcript" +
            (y_bob ? " (" + y_bob->source + ", message " + std::to_string(y_bob->number) + ")"
                   : std::string()));
  if (x_alice == nullptr || !y_bob) {
    return 1;
  }
  say("  libotr:  otr_sesskeys <Alice's private key> <Bob's public key>, then");
  say("           otr_readforge <sending AES key> [new text] < message" +
      std::to_string(promise_number) + ".otr");
  say("  otrchat: otrchat sesskeys ..., otrchat readforge ... (same arguments)");
  otr::Result<tk::SessionKeyInfo> keys =
      tk::session_keys(x_alice->private_key.view(), y_bob->public_key);
  check(keys.ok(), "session_keys(x_alice, y_bob), like otr_sesskeys");
  if (!keys.ok()) {
    return 1;
  }
  std::cout << "    Alice is the " << (keys->high_end ? "high" : "low") << " end; sending AES key "
            << otr::to_hex(keys->sending_aes_key.view()) << "\n"
            << "    sending MAC key " << otr::to_hex(keys->sending_mac_key.view()) << "\n";
  check(otr::to_hex(keys->sending_mac_key.view()) == otr::to_hex(published_key),
        "its MAC key is the very key the transcript published (otr_mackey: SHA-1 of the AES key)");
  otr::Result<tk::ReadForgeResult> read = tk::read_and_forge(promise, keys->sending_aes_key.view());
  check(read.ok() && read->text == "I will pay Bob 100 EUR",
        "read_and_forge reads the original: \"" + (read.ok() ? read->text : std::string()) + "\"");
  otr::Result<tk::ReadForgeResult> read_forgery =
      tk::read_and_forge(forged->message, keys->sending_aes_key.view());
  check(read_forgery.ok() && read_forgery->text == "I will pay Bob 900 EUR",
        "and Eve's blind edit from step 5 reads \"" +
            (read_forgery.ok() ? read_forgery->text : std::string()) + "\"");
  const std::string new_text = "I, Alice, owe Eve 5000 EUR and my bike";
  otr::Result<tk::ReadForgeResult> rewrite =
      tk::read_and_forge(promise, keys->sending_aes_key.view(), new_text);
  check(rewrite.ok() && rewrite->forged.has_value(),
        "read_and_forge replaces the whole text (any length)");
  if (!rewrite.ok() || !rewrite->forged) {
    return 1;
  }
  otr::Result<bool> rewrite_ok = tk::verify_mac(*rewrite->forged, published_key);
  check(rewrite_ok.ok() && *rewrite_ok, "the offline verifier accepts the rewrite too");
  otr::Result<tk::ReadForgeResult> reread =
      tk::read_and_forge(*rewrite->forged, keys->sending_aes_key.view());
  check(reread.ok() && reread->text == new_text, "it decrypts to \"" + new_text + "\"");
  check(!bob_accepts(bob, *rewrite->forged, net.now()), "Bob's live session rejects it");

  // --- 7 ---
  step(7, "Forward secrecy: the seized key is no use for long");
  std::vector<otr::toolkit::ForensicDhKey> now_held = otr::toolkit::forensic_dh_keys(alice_conv);
  bool still_held = false;
  for (const otr::toolkit::ForensicDhKey& k : now_held) {
    std::cout << "    Alice's device now holds DH key id " << k.keyid << "\n";
    still_held = still_held || k.keyid == target->sender_keyid;
  }
  say(still_held ? "Key id " + std::to_string(target->sender_keyid) + " is still in use."
                 : "Key id " + std::to_string(target->sender_keyid) +
                       " is gone: seizing the device today would not decrypt the promise.");

  std::cout << "\n=== Conclusion ===\n"
            << "The recorded promise, the 900 EUR forgery and the rewrite all carry valid MACs\n"
            << "under a key anyone can read in the transcript; Bob's live session accepted only\n"
            << "what Alice really sent, when she sent it. Bob knew it was Alice; nobody else can\n"
            << "be shown that. That is OTR's deniability.\n"
            << (g_failures == 0 ? "\nAll checks passed.\n"
                                : "\n" + std::to_string(g_failures) + " check(s) FAILED.\n");
  return g_failures == 0 ? 0 : 1;
}
