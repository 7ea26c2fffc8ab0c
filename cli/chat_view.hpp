// ChatView: what `otrchat chat` shows the person and writes as JSON lines. It puts the typed
// events of the engine, the transport and the person's commands into words ("*** ..." status
// lines, "<peer> text" messages) and JSON events; it decides nothing and never calls the engine.
// Secrets (SMP answers, keys) never reach it.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "chat_setup.hpp"
#include "json.hpp"
#include "otr/account.hpp"
#include "otr/transport/transport.hpp"

namespace otr::cli {

// ChatView is one chat's output. It remembers only whether it has already said that a message
// went out unencrypted.
class ChatView {
 public:
  // ChatView writes to the streams |setup| names; it reads |setup| (which must outlive it) at
  // each call, so policy changes are seen.
  explicit ChatView(const ChatSetup& setup) : m_setup(setup) {}

  // status writes one line "*** text" for the person; json writes one JSON event. Each does
  // nothing when its stream is not set.
  void status(const std::string& text);
  void json(const JsonObject& obj);
  // command writes the JSON event for a command the person gave: {"event":"command",...}.
  void command(std::string_view name);

  // ready introduces the chat: our fingerprint, the peer, the transport.
  void ready(const Identity& me);

  // The engine's actions, one function each (SendToPeer is not for the person).
  void message(const Event& e, const ShowPlaintext& p);
  // state_changed: |finishing| says otrchat itself is ending the conversation on the way out.
  void state_changed(const Event& e, const StateChanged& s, bool finishing);
  void fingerprint(const Event& e, const PeerFingerprint& f);
  void notice(const Notice& n);
  void smp(const SmpUpdate& u);
  void extra_key(const Event& e, const ExtraSymmetricKey& x);

  // transport_event shows a status event of the transport.
  void transport_event(const transport::TransportEvent& e);

  // sent reports what became of a line the person typed: the "send" event, in batch mode the
  // line echoed with its fate, else (once per private-conversation attempt) a note that it went
  // out unencrypted.
  void sent(const std::string& text, SendMode mode);

  // info shows /otr info: our identity, the conversation's |state|, its authenticated |session|
  // (if any) with the |trust| in the peer's key, and whether SMP is under way.
  void info(const Identity& me, MsgState state, const std::optional<SessionInfo>& session,
            const std::optional<std::string>& trust, bool smp_in_progress);

  // trust_changed reports /otr trust or /otr distrust of the peer's key |fp|.
  void trust_changed(const Fingerprint& fp, bool verified);

  // failure reports why the chat ends with exit status 1: one line on stderr (unless the JSON
  // goes there, when the "error" event is that line).
  void failure(const std::string& why);

 private:
  const ChatSetup& m_setup;
  bool m_warned_plaintext = false;  // "Sent unencrypted" said since the last private start
};

// printable makes peer-controlled text safe for a terminal (otr::terminal_safe): control,
// bidirectional and invisible characters are shown as tokens such as <U+202E> or <0x9B>, with a
// note saying how many; continuation lines are indented.
std::string printable(std::string_view text);

// ssid_words renders a session id as "[01234567] 89abcdef": the bracketed half is the one
// libotr shows in bold, to be compared with the peer over a channel you trust.
std::string ssid_words(const Bytes& ssid, bool bold_first);

// tag_hex renders an instance tag as 8 hex digits.
std::string tag_hex(std::uint32_t tag);

}  // namespace otr::cli
