// LibotrEndpoint: one in-process libotr 4.1.1 participant, the project's only libotr driver: the
// interop tests, the libotr_peer process and the benchmark (bench/otr_bench.cpp) all use it.
//
// libotr is only ever a test peer and a benchmark baseline; nothing in otr/ may include this.
// The implementation lives in tests/interop_peer/libotr_endpoint.cpp and is built as the
// `otr_libotr_support` library, which exists only when libotr is found. Link that library (it
// brings libotr, libgcrypt and this header's include path).
//
// libotr drives the application through a table of callbacks (OtrlMessageAppOps). This wrapper
// turns that back into the shape of our engine: every call returns the wire strings that must go
// to the peer, in order, and records what libotr reported through its callbacks as
// LibotrEvents. Nothing here performs I/O apart from key, instance-tag and fingerprint files.
//
// ---------------------------------------------------------------------------------------------
// libotr and libgcrypt in one process (read this before mixing LibotrEndpoint with otr::core)
//
// otrl_init() (what OTRL_INIT expands to) calls otrl_mem_init(), which calls
// gcry_set_allocation_handler() with libotr's own malloc/realloc/free (src/mem.c). From then on,
// for *every* libgcrypt user in the process, including our engine:
//   * gcry_malloc_secure, gcry_mpi_snew and GCRY_CIPHER_SECURE/GCRY_MD_FLAG_SECURE handles get
//     ordinary heap memory (malloc plus an 8-byte size header), not libgcrypt's mlock'ed secure
//     pool. The pool that otr::crypto::init() asks for with GCRYCTL_INIT_SECMEM is created but
//     never used, so secure memory can no longer run out (a test that expects exhaustion cannot
//     work in such a process), and nothing is locked in RAM.
//   * gcry_is_secure() answers 1 for every pointer.
//   * gcry_free wipes with memset before free (libotr's code), for all blocks.
//   * The handlers are global and are never removed. In FIPS mode libgcrypt ignores them.
// The hazard is ordering: a block libgcrypt allocated *before* otrl_init() (from its own
// allocator, without libotr's header) and freed *after* it goes to libotr's free, which reads a
// size header that is not there: heap corruption or an ASan "bad-free". So libotr must be
// initialised before anyone allocates through libgcrypt. ensure_libotr_init() does that, and this
// library also calls it from a static initialiser, i.e. before main(), in every program that links
// it. libotr itself never sets GCRYCTL_INITIALIZATION_FINISHED, so otr::crypto::init(), which
// checks GCRYCTL_INITIALIZATION_FINISHED_P, still runs its full initialisation afterwards and
// works; ensure_libotr_init() calls it for you, in the right order.
//
// Determinism: what the caller fixes is fixed (instance tags, key files, account names, policy,
// max message size), and the fixture keys in tests/interop_peer/fixtures make long-term keys and
// fingerprints constant. libotr draws DH exponents, the commit's r, SMP exponents and generated
// instance tags from libgcrypt's RNG (gcry_randomize / gcry_random_bytes_secure), which cannot be
// seeded, so wire bytes differ between runs. libotr also reads time(NULL) for heartbeats
// (after 60 s of silence) and "[resent]" (within 60 s); tests running in well under a minute
// never see either.
//
// libotr 3.x had otrl_message_fragment_and_send(); libotr 4 removed it from the API. Fragmenting
// now happens inside otrl_message_sending (and every internal send: AKE, SMP, errors) according
// to the OtrlFragmentPolicy and the max_message_size callback; this wrapper always passes
// OTRL_FRAGMENT_SEND_ALL, so every fragment arrives through inject_message. One exception:
// otrl_message_disconnect injects its Disconnect message whole, never fragmented.
// ---------------------------------------------------------------------------------------------
#pragma once

#include <gcrypt.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

// libotr's headers have no extern "C" guards of their own, and they depend on their order
// (message.h needs proto.h and tlv.h first), as in libotr's own sources.
// clang-format off
extern "C" {
#include <libotr/proto.h>
#include <libotr/tlv.h>
#include <libotr/userstate.h>
#include <libotr/context.h>
#include <libotr/context_priv.h>
#include <libotr/instag.h>
#include <libotr/privkey.h>
#include <libotr/message.h>
}
// clang-format on

namespace otr::test {

// LibotrError reports a failure inside libotr or libgcrypt (key generation, file I/O, a non-zero
// gcry_error_t from otrl_message_sending). The text names the call and gcry_strerror().
class LibotrError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// ensure_libotr_init runs otrl_init() exactly once per process and then otr::crypto::init().
// Safe to call any number of times from one thread. Throws LibotrError if libotr's API version
// does not match the headers, and std::logic_error if libgcrypt had already finished its
// initialisation (someone called otr::crypto::init() or GCRYCTL_INITIALIZATION_FINISHED first,
// so libgcrypt memory may already exist that libotr's free() would corrupt; see above).
void ensure_libotr_init();

// libgcrypt_had_users_before_libotr says whether libgcrypt reported any initialisation
// (GCRYCTL_ANY_INITIALIZATION_P) when ensure_libotr_init() ran. Diagnostics for tests.
bool libgcrypt_had_users_before_libotr();

// free_libotr_userstate is otrl_userstate_free plus what libotr 4.1.1 leaks: the
// ConnContextPriv of every context (otrl_context_forget never frees it; 728 bytes each). Use it
// for any OtrlUserState you create yourself, or LeakSanitizer will complain. Null is ignored.
void free_libotr_userstate(OtrlUserState us);

// Note for code driving libotr directly: call ensure_libotr_init(), never OTRL_INIT a second
// time. Each otrl_init() call re-creates libotr's DH and SMP constants (otrl_dh_init,
// otrl_sm_init) and leaks the previous ones.

using Fingerprint20 = std::array<std::uint8_t, 20>;
using SymKey32 = std::array<std::uint8_t, OTRL_EXTRAKEY_BYTES>;
using MacKey20 = std::array<std::uint8_t, 20>;

// LibotrMsgState mirrors OtrlMessageState (the spec's msgstate).
enum class LibotrMsgState { Plaintext, Encrypted, Finished };
const char* to_string(LibotrMsgState s);

// msg_event_name / smp_event_name give libotr's enumerator without its prefix
// ("RCVDMSG_UNREADABLE", "ASK_FOR_SECRET"); "UNKNOWN(n)" for anything else.
std::string msg_event_name(OtrlMessageEvent e);
std::string smp_event_name(OtrlSMPEvent e);

// LibotrEventKind says which libotr callback produced a LibotrEvent.
enum class LibotrEventKind {
  MsgEvent,        // handle_msg_event: code = OtrlMessageEvent, text = message (may be empty), err
  GoneSecure,      // gone_secure
  GoneInsecure,    // gone_insecure (libotr 4.1.1 never calls it; kept for completeness)
  StillSecure,     // still_secure: is_reply
  NewFingerprint,  // new_fingerprint: fingerprint, text = username
  SmpEvent,        // handle_smp_event: code = OtrlSMPEvent, progress, text = question
  CreateInstag,    // create_instag: text = the tag we generated, %08x
  CreatePrivkey,   // create_privkey: a key had to be generated on demand
  ReceivedSymkey,  // received_symkey: symkey_use, symkey_usedata, symkey
  WriteFingerprints,  // write_fingerprints (libotr asks after trust changes, e.g. SMP success)
  TimerControl,       // timer_control: code = requested interval in seconds
};
const char* to_string(LibotrEventKind k);

// LibotrEvent is one callback from libotr, with the context's instance tags at that moment.
struct LibotrEvent {
  LibotrEventKind kind{};
  int code = 0;
  std::string text;
  gcry_error_t err = 0;
  unsigned int progress = 0;
  int is_reply = 0;
  otrl_instag_t their_instance = 0;
  Fingerprint20 fingerprint{};
  unsigned int symkey_use = 0;
  std::string symkey_usedata;
  SymKey32 symkey{};

  bool is_msg_event(OtrlMessageEvent e) const {
    return kind == LibotrEventKind::MsgEvent && code == static_cast<int>(e);
  }
  bool is_smp_event(OtrlSMPEvent e) const {
    return kind == LibotrEventKind::SmpEvent && code == static_cast<int>(e);
  }
  // describe renders the event in one line for test failure messages.
  std::string describe() const;
};

// ReceivedTlv is one TLV libotr passed back from otrl_message_receiving.
struct ReceivedTlv {
  unsigned short type = 0;
  std::string data;
};

// Received is the outcome of LibotrEndpoint::receive.
struct Received {
  // ignore is what otrl_message_receiving returned: 1 means "internal protocol message, show
  // nothing". plaintext is what the user would see: libotr's replacement text if it gave one,
  // else the wire string itself; empty optional when ignore is set.
  bool ignore = false;
  std::optional<std::string> plaintext;
  std::vector<std::string> to_send;  // wire strings libotr injected, in order
  std::vector<LibotrEvent> events;   // callbacks during this call, in order
  std::vector<ReceivedTlv> tlvs;     // TLVs of a Data message
  otrl_instag_t their_instance = 0;  // of the context libotr used (0 if none)

  bool has_event(LibotrEventKind k) const;
  bool has_msg_event(OtrlMessageEvent e) const;
  bool has_smp_event(OtrlSMPEvent e) const;
};

// SessionId is the secure session id of an ENCRYPTED context: for OTRv2/3 the 8 bytes libotr
// shows as two bold/regular halves.
struct SessionId {
  std::vector<std::uint8_t> bytes;  // 8 bytes for v2/v3 (20 for v1)
  OtrlSessionIdHalf bold = OTRL_SESSIONID_FIRST_HALF_BOLD;
  // hex is "%08x %08x" of the two halves, as libotr-based clients print it.
  std::string hex() const;
};

// KeyIds are the data-message key ids a context holds (context_priv).
struct KeyIds {
  unsigned int our_keyid = 0;
  unsigned int their_keyid = 0;
};

// SymkeyResult is what use_extra_symmetric_key returns: the 32-byte key libotr computed and the
// TLV-8 Data message it sent to tell the peer.
struct SymkeyResult {
  SymKey32 key{};
  std::vector<std::string> to_send;
};

// QueryStyle picks how start_ake() asks for OTR.
enum class QueryStyle {
  Bare,     // "?OTRv23?" (the first line of otrl_proto_default_query_msg for our policy)
  Default,  // through otrl_message_sending("?OTRv23?"): libotr replaces it with its full default
            // text (HTML, an embedded "\n") and injects that
};

// LibotrEndpointOptions configures one endpoint. Defaults give a deterministic endpoint for
// tests: policy OTRL_POLICY_DEFAULT, no fragmentation, a generated key in a private temp dir.
struct LibotrEndpointOptions {
  // policy is returned by the policy callback (OTRL_POLICY_* bits); see set_policy().
  OtrlPolicy policy = OTRL_POLICY_DEFAULT;
  // max_message_size is returned by the max_message_size callback; 0 = never fragment. Every
  // fragment leaves through inject_message (OTRL_FRAGMENT_SEND_ALL).
  int max_message_size = 0;
  // key_file: an existing libotr private key file to load (libgcrypt S-expression
  // "(privkeys (account (name …) (protocol …) (private-key …)))"). The file is only read, so
  // any number of endpoints may share it. If it holds no key for (account, protocol), the first
  // key in it is re-labelled for our account in memory. Empty: generate a key with
  // otrl_privkey_generate into the endpoint's temp dir (~0.1–1 s); prefer shared_key_file().
  std::string key_file;
  // instag: a fixed instance tag (>= 0x100). Empty: read instag_file if it names one for us,
  // else generate with otrl_instag_generate (written to instag_file, or the temp dir).
  std::optional<otrl_instag_t> instag;
  std::string instag_file;
  // lazy_instag leaves the userstate without a tag so that libotr calls create_instag itself
  // when the first context needs one (the callback generates one into instag_file/temp dir).
  bool lazy_instag = false;
  // fingerprints_file is read at construction if it exists, and written by
  // write_fingerprints() and whenever libotr calls the write_fingerprints callback.
  std::string fingerprints_file;
  // is_logged_in is the answer of the is_logged_in callback (1 = online, so a Disconnect TLV is
  // sent by disconnect(); 0 = offline; -1 = unknown).
  int is_logged_in = 1;
  // send_error_messages makes otr_error_message return texts (as pidgin-otr does), so libotr
  // injects "?OTR Error: …" for unreadable/malformed/not-in-private messages.
  bool send_error_messages = true;
  // abort_smp_on_error calls otrl_message_abort_smp after receive() reported SMP CHEATED or
  // ERROR, as the libotr documentation asks clients to (pidgin-otr does); the abort message is
  // part of that receive()'s to_send.
  bool abort_smp_on_error = true;
  // record_events keeps every callback as a LibotrEvent (events(), Received::events). The
  // benchmark turns it off: the callbacks then only count (counts()), so that libotr's side of
  // a measurement is charged with libotr's work and what any client must do, not with test
  // bookkeeping.
  bool record_events = true;
};

// LibotrCounts counts callbacks, whether or not events are recorded.
struct LibotrCounts {
  std::uint64_t gone_secure = 0;
  std::uint64_t smp_asked = 0;      // ASK_FOR_SECRET or ASK_FOR_ANSWER: respond now
  std::uint64_t smp_succeeded = 0;  // SUCCESS
  std::uint64_t smp_other = 0;      // any other end of an exchange: FAILURE, CHEATED, ERROR, ABORT
  std::uint64_t msg_errors = 0;     // message events other than NONE and the heartbeat logs
};

// LibotrEndpoint is one libotr user (account, protocol) talking to one peer name, with its own
// OtrlUserState. Not copyable or movable (libotr holds a pointer to it as opdata).
class LibotrEndpoint {
 public:
  // The constructor calls ensure_libotr_init(), creates the userstate and loads or creates key,
  // instance tag and fingerprints as |options| say. Throws LibotrError if a file cannot be read
  // or a key cannot be generated.
  LibotrEndpoint(std::string account, std::string protocol, std::string peer_name,
                 LibotrEndpointOptions options = {});
  ~LibotrEndpoint();
  LibotrEndpoint(const LibotrEndpoint&) = delete;
  LibotrEndpoint& operator=(const LibotrEndpoint&) = delete;

  // send passes |text| through otrl_message_sending (OTRL_FRAGMENT_SEND_ALL) and returns every
  // wire string for the peer, in order: everything libotr injected (fragments, a Query, an
  // encrypted Data message…). libotr also hands back *messagep after injecting it; that copy is
  // not sent twice. If libotr leaves the text alone (OTR off, plain message without tag), the
  // text itself is the one wire string. Empty strings libotr injects (it "replaces" a message to
  // a FINISHED peer with "") are dropped. |instance| selects the peer instance
  // (OTRL_INSTAG_BEST by default). Throws LibotrError if libotr returns an error (it then must
  // not be sent in the clear).
  std::vector<std::string> send(std::string_view text, otrl_instag_t instance = OTRL_INSTAG_BEST);

  // receive passes one wire string through otrl_message_receiving; see Received.
  Received receive(std::string_view wire);

  // start_ake asks the peer for OTR with a Query message (see QueryStyle).
  std::vector<std::string> start_ake(QueryStyle style = QueryStyle::Bare);

  // disconnect ends the session with one instance (otrl_message_disconnect): a Disconnect TLV
  // if ENCRYPTED and is_logged_in == 1, then PLAINTEXT. disconnect_all does all instances.
  // libotr injects that message directly, never fragmented, whatever max_message_size says.
  std::vector<std::string> disconnect(otrl_instag_t instance = OTRL_INSTAG_BEST);
  std::vector<std::string> disconnect_all();

  // SMP. smp_initiate starts SMP (TLV 2, or TLV 7 with |question|); smp_respond answers an
  // ASK_FOR_SECRET/ASK_FOR_ANSWER; smp_abort sends TLV 6. Each throws std::logic_error if there is
  // no context for |instance|.
  std::vector<std::string> smp_initiate(std::string_view secret,
                                        std::optional<std::string_view> question = std::nullopt,
                                        otrl_instag_t instance = OTRL_INSTAG_BEST);
  std::vector<std::string> smp_respond(std::string_view secret,
                                       otrl_instag_t instance = OTRL_INSTAG_BEST);
  std::vector<std::string> smp_abort(otrl_instag_t instance = OTRL_INSTAG_BEST);

  // use_extra_symmetric_key calls otrl_message_symkey: returns the current extra symmetric key
  // and the TLV-8 message announcing |use| and |usedata|. Throws LibotrError if not ENCRYPTED.
  SymkeyResult use_extra_symmetric_key(unsigned int use, std::string_view usedata = {},
                                       otrl_instag_t instance = OTRL_INSTAG_BEST);

  // poll calls otrl_message_poll (wipes stale master AKE keys after 60 s); returns anything
  // injected (normally nothing).
  std::vector<std::string> poll();

  // --- any buddy, caller-owned buffers (the benchmark) ---
  //
  // The calls above talk to peer_name(). These name the buddy instead, so one endpoint (one
  // libotr account) can hold sessions with any number of peers, and they put what libotr injects
  // into |out| (cleared first) so a caller can reuse its buffers; they record no Received, only
  // events (if options.record_events) and counts(). Errors as for send().

  // send_to is send() to |peer|'s best instance.
  void send_to(const std::string& peer, const std::string& text, std::vector<std::string>& out);
  // receive_from is receive() of one wire string from |peer|. Returns true and sets |*shown|
  // (if not null) when libotr hands the user a message (libotr's replacement text, or the wire
  // string itself); false for protocol messages libotr keeps to itself.
  bool receive_from(const std::string& peer, const std::string& wire, std::string* shown,
                    std::vector<std::string>& out);
  // smp_initiate_with / smp_respond_to are smp_initiate() without a question and smp_respond()
  // for |peer|'s best instance. Throw std::logic_error if there is no context for |peer|.
  void smp_initiate_with(const std::string& peer, std::string_view secret,
                         std::vector<std::string>& out);
  void smp_respond_to(const std::string& peer, std::string_view secret,
                      std::vector<std::string>& out);
  // encrypted_with says whether |peer|'s best context is ENCRYPTED.
  bool encrypted_with(const std::string& peer) const;
  // forget_all drops every context of every peer (otrl_context_forget_all, without libotr's
  // leak of each context's ConnContextPriv).
  void forget_all();
  // counts: callbacks so far, by kind.
  const LibotrCounts& counts() const { return m_counts; }

  // --- queries (instance: a tag >= 0x100, or OTRL_INSTAG_MASTER / _BEST / _RECENT*) ---

  // context returns libotr's ConnContext for |instance|, or nullptr. For digging in tests; the
  // pointer stays valid until the endpoint is destroyed.
  ConnContext* context(otrl_instag_t instance = OTRL_INSTAG_BEST) const;
  // msg_state is PLAINTEXT if there is no context yet.
  LibotrMsgState msg_state(otrl_instag_t instance = OTRL_INSTAG_BEST) const;
  // ssid: empty unless the context is ENCRYPTED.
  std::optional<SessionId> ssid(otrl_instag_t instance = OTRL_INSTAG_BEST) const;
  // peer_fingerprint: the active fingerprint of the peer's long-term key, if any.
  std::optional<Fingerprint20> peer_fingerprint(otrl_instag_t instance = OTRL_INSTAG_BEST) const;
  // peer_trust: the trust string of the active fingerprint ("" unverified, "smp" after SMP);
  // empty optional if none. peer_trusted applies otrl_context_is_fingerprint_trusted.
  std::optional<std::string> peer_trust(otrl_instag_t instance = OTRL_INSTAG_BEST) const;
  bool peer_trusted(otrl_instag_t instance = OTRL_INSTAG_BEST) const;
  // set_trust sets the trust string of the active fingerprint (otrl_context_set_trust); "" =
  // untrusted. Throws std::logic_error if there is no active fingerprint.
  void set_trust(const std::string& trust, otrl_instag_t instance = OTRL_INSTAG_BEST);
  // write_fingerprints writes the fingerprint store (otrl_privkey_write_fingerprints) to |path|,
  // or to options.fingerprints_file if |path| is empty. Throws LibotrError on failure.
  void write_fingerprints(const std::string& path = {});

  Fingerprint20 our_fingerprint() const;
  // our_fingerprint_human is libotr's "XXXXXXXX XXXXXXXX …" form.
  std::string our_fingerprint_human() const;
  otrl_instag_t our_instag() const;
  // their_instag: the peer's instance tag in the chosen context (0 if unknown).
  otrl_instag_t their_instag(otrl_instag_t instance = OTRL_INSTAG_BEST) const;
  // protocol_version: 0 if no context / not yet negotiated, else 1, 2 or 3.
  unsigned int protocol_version(otrl_instag_t instance = OTRL_INSTAG_BEST) const;
  // key_ids: data-message key ids (0/0 before the first AKE).
  KeyIds key_ids(otrl_instag_t instance = OTRL_INSTAG_BEST) const;
  // pending_revealed_mac_keys: the receiving MAC keys libotr has queued in
  // context_priv->saved_mac_keys and will publish in the next Data message it sends. Reachable
  // because Debian's libotr5-dev installs context_priv.h (ConnContextPriv).
  std::vector<MacKey20> pending_revealed_mac_keys(otrl_instag_t instance = OTRL_INSTAG_BEST) const;
  // sending_mac_key: the MAC key of the next Data message we send (sesskeys[1][0].sendmackey,
  // the key libotr's otrl_proto_create_data uses); empty unless ENCRYPTED.
  std::optional<MacKey20> sending_mac_key(otrl_instag_t instance = OTRL_INSTAG_BEST) const;

  // Events: every callback ever recorded (events()), or those since the last take_events().
  const std::vector<LibotrEvent>& events() const { return m_events; }
  std::vector<LibotrEvent> take_events();

  void set_policy(OtrlPolicy policy) { m_options.policy = policy; }
  void set_max_message_size(int mms) { m_options.max_message_size = mms; }
  void set_logged_in(int v) { m_options.is_logged_in = v; }

  const std::string& account() const { return m_account; }
  const std::string& protocol() const { return m_protocol; }
  const std::string& peer_name() const { return m_peer; }
  OtrlUserState userstate() const { return m_us; }
  // key_file_path: the key file actually loaded (generated or given).
  const std::string& key_file_path() const { return m_key_file; }

  // shared_key_file returns a private key file for account name |label| that every endpoint in
  // the process may share: the checked-in fixture tests/interop_peer/fixtures/<label>.key when it
  // exists (alice, bob, carol), else a key generated once per process into a temp dir that is
  // removed at exit. Loading a shared key costs milliseconds instead of ~1 s for generation.
  static std::string shared_key_file(const std::string& label);

 private:
  struct Ops;  // the OtrlMessageAppOps callbacks (friends of this class)
  friend struct Ops;

  std::vector<std::string> take_outbox();
  bool recording() const { return m_options.record_events; }
  void record(LibotrEvent e);
  ConnContext* require_context(otrl_instag_t instance, const char* what) const;
  ConnContext* require_context_of(const std::string& peer, const char* what) const;
  // send_raw and receive_raw are the one place each that calls otrl_message_sending /
  // otrl_message_receiving; what libotr injects goes to |out|.
  bool send_raw(const std::string& peer, const std::string& text, otrl_instag_t instance,
                std::vector<std::string>& out);
  int receive_raw(const std::string& peer, const std::string& wire, char** newmsg, OtrlTLV** tlvs,
                  ConnContext** ctx, std::vector<std::string>& out);
  void load_key();
  void load_instag();
  std::string temp_path(const std::string& name);
  void generate_instag(const std::string& path);

  std::string m_account;
  std::string m_protocol;
  std::string m_peer;
  LibotrEndpointOptions m_options;
  OtrlUserState m_us = nullptr;
  std::string m_temp_dir;  // created on demand, removed in the destructor
  std::string m_key_file;
  std::vector<std::string> m_outbox;
  std::vector<std::string>* m_sink = &m_outbox;  // where inject_message appends
  LibotrCounts m_counts;
  std::vector<LibotrEvent> m_events;
  std::size_t m_events_taken = 0;
  bool m_smp_needs_abort = false;
};

// --- two endpoints in one process ---

// Direction of a wire message between the two endpoints of a LibotrLink.
enum class Direction { AliceToBob, BobToAlice };
const char* to_string(Direction d);

// classify_wire names an OTR wire string by its prefix as libotr's otrl_proto_message_type sees
// it: "query", "dh-commit", "dh-key", "reveal-signature", "signature", "data", "fragment",
// "error", "v1", "tagged-plaintext" or "plaintext".
std::string classify_wire(std::string_view wire);

// TranscriptEntry is one wire message and what its receiver made of it.
struct TranscriptEntry {
  Direction direction{};
  std::string wire;
  std::string kind;                       // classify_wire(wire)
  std::optional<std::string> shown;       // plaintext the receiver displayed, if any
  std::vector<unsigned short> tlv_types;  // TLVs the receiver got (Data messages)
  // sender_mac_key: for a Data message, the sending MAC key (sesskeys[1][0].sendmackey) the
  // sender held right after producing it, i.e. the key that MACs it. Published later by the
  // *receiver* as a revealed MAC key once that key pair is retired.
  std::optional<MacKey20> sender_mac_key;
};

// LibotrLink joins two LibotrEndpoints in memory. Each call hands one side's outgoing wire
// strings to the other side and keeps delivering replies, depth-first and in order, until
// neither side has anything left to send. Every delivered message is appended to log().
class LibotrLink {
 public:
  LibotrLink(LibotrEndpoint& alice, LibotrEndpoint& bob) : m_alice(alice), m_bob(bob) {}

  // from_alice delivers |wires| (Alice's output) to Bob, and so on; likewise from_bob.
  void from_alice(const std::vector<std::string>& wires);
  void from_bob(const std::vector<std::string>& wires);

  const std::vector<TranscriptEntry>& log() const { return m_log; }
  // shown_to_alice / shown_to_bob: plaintexts each side displayed, in order.
  const std::vector<std::string>& shown_to_alice() const { return m_shown_to_alice; }
  const std::vector<std::string>& shown_to_bob() const { return m_shown_to_bob; }
  // max_messages bounds one delivery run (a ping-pong bug must not hang a test); exceeding it
  // throws std::runtime_error.
  void set_max_messages(std::size_t n) { m_max_messages = n; }

 private:
  void deliver(Direction d, const std::vector<std::string>& wires, std::size_t& budget);

  LibotrEndpoint& m_alice;
  LibotrEndpoint& m_bob;
  std::vector<TranscriptEntry> m_log;
  std::vector<std::string> m_shown_to_alice;
  std::vector<std::string> m_shown_to_bob;
  std::size_t m_max_messages = 1000;
};

// TranscriptOptions shapes record_libotr_transcript().
struct TranscriptOptions {
  otrl_instag_t alice_instag = 0x82c89fa1;
  otrl_instag_t bob_instag = 0x0c3c800b;
  int max_message_size = 0;  // 0 = no fragments
  std::string protocol = "otrchat";
};

// LibotrTranscript is a canonical libotr↔libotr conversation, with what is needed to check it.
struct LibotrTranscript {
  std::vector<TranscriptEntry> messages;  // in delivery order
  otrl_instag_t alice_instag = 0;
  otrl_instag_t bob_instag = 0;
  Fingerprint20 alice_fingerprint{};
  Fingerprint20 bob_fingerprint{};
  SessionId ssid;  // as both sides reported it
  std::string smp_question;
  std::string smp_secret;
  bool smp_succeeded = false;  // both sides reported SMPEVENT_SUCCESS
};

// record_libotr_transcript runs, between two fresh libotr endpoints alice and bob (fixture keys
// alice.key/bob.key, fixed instance tags, policy OTRL_POLICY_DEFAULT):
//   1. Alice sends a bare Query "?OTRv23?"; Bob: D-H Commit; Alice: D-H Key; Bob: Reveal
//      Signature; Alice: Signature (Bob initiates the AKE, as in notes §1.14).
//   2. Data messages A→B "hello bob", B→A "hello alice", A→B "how are you?", B→A "fine,
//      thanks", A→B "good to hear", B→A "bye for now" (key ids advance; from the 4th message on
//      each carries revealed MAC keys).
//   3. SMP with a question, started by Alice: SMP1Q, SMP2, SMP3, SMP4 (secret matches).
//   4. Alice disconnects: a Data message with TLV 1 (never fragmented, see disconnect());
//      Bob ends FINISHED.
// Throws std::runtime_error if any step does not end as described (so callers can rely on the
// shape). The DH and SMP randomness is libgcrypt's, so wire bytes differ on every run; only the
// structure, instance tags, fingerprints and plaintexts are fixed.
LibotrTranscript record_libotr_transcript(const TranscriptOptions& options = {});

// --- line framing shared by libotr_peer and its tests ---

// unframe_line decodes one line of otrchat's line framing (otr::LineCodec) without its LF; a
// trailing CR is dropped. Frame with otr::LineCodec::escape.
std::string unframe_line(std::string_view line);

// --- hex helpers for tests ---
std::string hex(const std::uint8_t* data, std::size_t n);
template <std::size_t N>
std::string hex(const std::array<std::uint8_t, N>& a) {
  return hex(a.data(), N);
}

}  // namespace otr::test
