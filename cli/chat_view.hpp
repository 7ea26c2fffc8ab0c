// ChatView: what `otrchat chat` shows the person and writes as JSON lines. It puts the typed
// events of the engine, the transport and the person's commands into words ("*** ..." status
// lines, "<peer> text" messages) and JSON events; it decides nothing and never calls the engine.
// Secrets (SMP answers, keys) never reach it.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "chat_setup.hpp"
#include "json.hpp"
#include "otr/account.hpp"
#include "otr/group.hpp"
#include "otr/transport/transport.hpp"
#include "room/irc_room.hpp"

namespace otr::cli {

// ChatView is one chat's output. It remembers only whether it has already said that a message
// went out unencrypted.
class ChatView {
 public:
  // ChatView writes to the streams |setup| names; it reads |setup| (which must outlive it) at
  // each call, so policy changes are seen.
  explicit ChatView(const ChatSetup& setup) : m_setup(setup) {}

  // Tone colours a status line (when colours are on): warnings yellow, errors red.
  enum class Tone { Plain, Good, Warning, Error };

  // status writes one line "*** text" for the person; warning writes "*** Warning: text." in
  // the warning colour; json writes one JSON event, with the time it happened ("time", UTC, ISO
  // 8601 with milliseconds) added last. Each does nothing when its stream is not set.
  void status(const std::string& text, Tone tone = Tone::Plain);
  void warning(const std::string& text);
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
  void notice(const Event& e, const Notice& n);
  void smp(const Event& e, const SmpUpdate& u);
  void extra_key(const Event& e, const ExtraSymmetricKey& x);

  // transport_event shows a status event of the transport.
  void transport_event(const transport::TransportEvent& e);

  // Connections and peers: a peer connected to --listen, a peer left (the "peer_left" event),
  // a nick we did not expect wrote to us (IRC), our nick is not the one asked for (IRC), the
  // IRC server went away and we try again in |in|, progress sending a long message.
  void peer_connected(const std::string& peer, const std::string& address);
  void peer_left(const std::string& peer);
  void new_peer(const std::string& peer, const std::string& current);
  void nick_taken(const std::string& wanted, const std::string& got);
  void reconnecting(const std::string& why, std::chrono::seconds in);
  void progress(const std::string& peer, std::size_t sent, std::size_t total);
  // peer_line is one line of /peers.
  void peer_line(const std::string& peer, bool current, MsgState state, bool verified, bool online,
                 std::size_t held, const std::string& address);

  // sent reports what became of a line the person typed to |peer|: the "send" event, in batch
  // mode the line echoed with its fate, else (once per private-conversation attempt) a note that
  // it went out unencrypted (|ended_by_us|: because we ended the private conversation).
  void sent(const std::string& peer, const std::string& text, SendMode mode, bool ended_by_us);

  // info shows /otr info: our identity, the conversation's |state| with |peer|, its
  // authenticated |session| (if any) with the |trust| in the peer's key, and whether SMP is
  // under way.
  void info(const std::string& peer, const Identity& me, MsgState state,
            const std::optional<SessionInfo>& session, const std::optional<std::string>& trust,
            bool smp_in_progress);

  // trust_changed reports /otr trust or /otr distrust of |peer|'s key |fp|.
  void trust_changed(const std::string& peer, const Fingerprint& fp, bool verified);

  // The private room of --channel (chat_room_view.cpp). room_line shows a line of the room
  // ("#room <bob> text"); room_mismatch warns that a member saw a different room; room_notice
  // and room_clear (something said in the channel in clear, by someone not in the room) are
  // status lines; room_sent reports a line the person (|nick|) typed to the room; room_event
  // shows what the channel itself did (we joined, someone left...). room_show is /otr room:
  // |members|, the channel's |outsiders| and the room |digest| (hex).
  void room_line(const std::string& room, const RoomLine& line);
  void room_mismatch(const std::string& room, const RoomMismatch& m);
  void room_notice(const std::string& room, const RoomNotice& n);
  void room_clear(const std::string& room, const std::string& nick, const std::string& text);
  void room_sent(const std::string& room, const std::string& nick, const std::string& text,
                 std::size_t members);
  void room_event(const std::string& room, const std::string& kind, const std::string& nick,
                  const std::string& text);
  void room_show(const std::string& room, const std::vector<room::RoomMemberView>& members,
                 const std::vector<std::string>& outsiders, const std::string& digest,
                 std::uint64_t our_last_id);

  // failure reports why the chat ends with exit status 1: one line on stderr (unless the JSON
  // goes there, when the "error" event is that line).
  void failure(const std::string& why);

 private:
  // line_start is "[HH:MM:SS] " with --timestamps, else "".
  std::string line_start() const;

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

// severity_key is "info", "warning" or "error", for JSON events.
const char* severity_key(Severity s);

// tag_hex renders an instance tag as 8 hex digits.
std::string tag_hex(std::uint32_t tag);

}  // namespace otr::cli
