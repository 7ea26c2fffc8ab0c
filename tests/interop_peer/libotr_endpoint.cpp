// LibotrEndpoint: libotr 4.1.1 driven from C++. See tests/support/libotr_endpoint.hpp.
//
// Built only into otr_libotr_support (tests/interop_peer/CMakeLists.txt), never into
// otr_test_support, so the non-libotr unit tests link without libotr.
#include "support/libotr_endpoint.hpp"

#include "otr/base/line_codec.hpp"

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>

#include "crypto/crypto.hpp"

namespace otr::test {

namespace {

bool g_had_users_before_libotr = false;

std::string gcry_text(gcry_error_t err) {
  return gcry_strerror(err);
}

[[noreturn]] void fail(const std::string& what, gcry_error_t err) {
  throw LibotrError(what + ": " + gcry_text(err));
}

std::string make_temp_dir() {
  std::string templ = (std::filesystem::temp_directory_path() / "otr-libotr-XXXXXX").string();
  if (mkdtemp(templ.data()) == nullptr) {
    throw LibotrError("mkdtemp(" + templ + ") failed: " + std::strerror(errno));
  }
  return templ;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw LibotrError("cannot read " + path);
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A FILE* over a string, for libotr's *_FILEp readers.
struct FileCloser {
  void operator()(FILE* f) const {
    if (f != nullptr) {
      std::fclose(f);
    }
  }
};
using FilePtr = std::unique_ptr<FILE, FileCloser>;

FilePtr memory_file(std::string& content) {
  FILE* f = fmemopen(content.data(), content.size(), "r");
  if (f == nullptr) {
    throw LibotrError(std::string("fmemopen failed: ") + std::strerror(errno));
  }
  return FilePtr(f);
}

struct SexpDeleter {
  void operator()(gcry_sexp_t s) const { gcry_sexp_release(s); }
};
using Sexp = std::unique_ptr<std::remove_pointer_t<gcry_sexp_t>, SexpDeleter>;

// relabel_first_key takes the first (private-key …) of a libotr key file and returns a key file
// text that binds it to (account, protocol). Lets one key file serve endpoints of any name.
std::string relabel_first_key(const std::string& file_text, const std::string& path,
                              const std::string& account, const std::string& protocol) {
  gcry_sexp_t raw = nullptr;
  gcry_error_t err = gcry_sexp_new(&raw, file_text.data(), file_text.size(), 1);
  if (err) {
    fail("parsing key file " + path, err);
  }
  Sexp all(raw);
  Sexp key(gcry_sexp_find_token(all.get(), "private-key", 0));
  if (!key) {
    throw LibotrError("key file " + path + " holds no (private-key …)");
  }
  gcry_sexp_t built = nullptr;
  err = gcry_sexp_build(&built, nullptr, "(privkeys (account (name %s) (protocol %s) %S))",
                        account.c_str(), protocol.c_str(), key.get());
  if (err) {
    fail("relabelling key from " + path, err);
  }
  Sexp out(built);
  std::size_t n = gcry_sexp_sprint(out.get(), GCRYSEXP_FMT_ADVANCED, nullptr, 0);
  std::string text(n, '\0');
  gcry_sexp_sprint(out.get(), GCRYSEXP_FMT_ADVANCED, text.data(), n);
  while (!text.empty() && text.back() == '\0') {
    text.pop_back();
  }
  return text;
}

// Process-wide cache of generated shared keys; the directory goes when the process exits.
struct SharedKeys {
  std::mutex mu;
  std::string dir;
  std::map<std::string, std::string> files;
  ~SharedKeys() {
    if (!dir.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
    }
  }
};
SharedKeys& shared_keys() {
  static SharedKeys keys;
  return keys;
}

const char* error_text(OtrlErrorCode code) {
  // pidgin-otr's texts (MSG_NOT_IN_PRIVATE is built with the account name below).
  switch (code) {
    case OTRL_ERRCODE_ENCRYPTION_ERROR:
      return "Error occurred encrypting message.";
    case OTRL_ERRCODE_MSG_UNREADABLE:
      return "You transmitted an unreadable encrypted message.";
    case OTRL_ERRCODE_MSG_MALFORMED:
      return "You transmitted a malformed data message.";
    default:
      return nullptr;
  }
}

}  // namespace

// --- process-wide initialisation ---

void ensure_libotr_init() {
  static std::once_flag once;
  std::call_once(once, [] {
    g_had_users_before_libotr = gcry_control(GCRYCTL_ANY_INITIALIZATION_P) != 0;
    if (gcry_control(GCRYCTL_INITIALIZATION_FINISHED_P) != 0) {
      throw std::logic_error(
          "ensure_libotr_init: libgcrypt is already initialised (otr::crypto::init() ran "
          "first?); libotr's allocation handlers would free memory they did not allocate");
    }
    gcry_error_t err = otrl_init(OTRL_VERSION_MAJOR, OTRL_VERSION_MINOR, OTRL_VERSION_SUB);
    if (err) {
      fail("otrl_init", err);
    }
    otr::crypto::init();
  });
}

bool libgcrypt_had_users_before_libotr() {
  return g_had_users_before_libotr;
}

namespace {
// Run before main() in every program linking otr_libotr_support, so no libgcrypt allocation can
// precede libotr's allocation handlers (see the header).
[[maybe_unused]] const bool g_libotr_initialised_at_startup = (ensure_libotr_init(), true);
}  // namespace

// LeakSanitizer's suppression hook (a weak symbol in the sanitizer runtime; inert otherwise).
// libotr 4.1.1 leaks the 32-byte extra-key buffer (gcry_malloc_secure in otrl_message_receiving,
// message.c) whenever a Data message fails to verify or decrypt in ENCRYPTED, which interop tests
// provoke on purpose. Only leaks under otrl_message_receiving are suppressed, so libgcrypt
// allocations of our engine (which also pass through libotr's allocator) are still checked.
extern "C" const char* __lsan_default_suppressions() {
  return "leak:otrl_message_receiving\n";
}

// AddressSanitizer's default-options hook. libotr and libgcrypt are built without frame
// pointers, and after otrl_init every libgcrypt allocation (the engine's too) goes through
// libotr's malloc handler, so the fast unwinder stops at "libotr.so.5+0xa5bc" and every leak
// report looks alike (and the suppression above could not match). The slow unwinder gives
// whole stacks. ASAN_OPTIONS in the environment still overrides this.
extern "C" const char* __asan_default_options() {
  return "fast_unwind_on_malloc=0";
}

// --- names ---

const char* to_string(LibotrMsgState s) {
  switch (s) {
    case LibotrMsgState::Plaintext:
      return "plaintext";
    case LibotrMsgState::Encrypted:
      return "encrypted";
    case LibotrMsgState::Finished:
      return "finished";
  }
  return "?";
}

std::string msg_event_name(OtrlMessageEvent e) {
  switch (e) {
    case OTRL_MSGEVENT_NONE:
      return "NONE";
    case OTRL_MSGEVENT_ENCRYPTION_REQUIRED:
      return "ENCRYPTION_REQUIRED";
    case OTRL_MSGEVENT_ENCRYPTION_ERROR:
      return "ENCRYPTION_ERROR";
    case OTRL_MSGEVENT_CONNECTION_ENDED:
      return "CONNECTION_ENDED";
    case OTRL_MSGEVENT_SETUP_ERROR:
      return "SETUP_ERROR";
    case OTRL_MSGEVENT_MSG_REFLECTED:
      return "MSG_REFLECTED";
    case OTRL_MSGEVENT_MSG_RESENT:
      return "MSG_RESENT";
    case OTRL_MSGEVENT_RCVDMSG_NOT_IN_PRIVATE:
      return "RCVDMSG_NOT_IN_PRIVATE";
    case OTRL_MSGEVENT_RCVDMSG_UNREADABLE:
      return "RCVDMSG_UNREADABLE";
    case OTRL_MSGEVENT_RCVDMSG_MALFORMED:
      return "RCVDMSG_MALFORMED";
    case OTRL_MSGEVENT_LOG_HEARTBEAT_RCVD:
      return "LOG_HEARTBEAT_RCVD";
    case OTRL_MSGEVENT_LOG_HEARTBEAT_SENT:
      return "LOG_HEARTBEAT_SENT";
    case OTRL_MSGEVENT_RCVDMSG_GENERAL_ERR:
      return "RCVDMSG_GENERAL_ERR";
    case OTRL_MSGEVENT_RCVDMSG_UNENCRYPTED:
      return "RCVDMSG_UNENCRYPTED";
    case OTRL_MSGEVENT_RCVDMSG_UNRECOGNIZED:
      return "RCVDMSG_UNRECOGNIZED";
    case OTRL_MSGEVENT_RCVDMSG_FOR_OTHER_INSTANCE:
      return "RCVDMSG_FOR_OTHER_INSTANCE";
  }
  return "UNKNOWN(" + std::to_string(static_cast<int>(e)) + ")";
}

std::string smp_event_name(OtrlSMPEvent e) {
  switch (e) {
    case OTRL_SMPEVENT_NONE:
      return "NONE";
    case OTRL_SMPEVENT_ERROR:
      return "ERROR";
    case OTRL_SMPEVENT_ABORT:
      return "ABORT";
    case OTRL_SMPEVENT_CHEATED:
      return "CHEATED";
    case OTRL_SMPEVENT_ASK_FOR_ANSWER:
      return "ASK_FOR_ANSWER";
    case OTRL_SMPEVENT_ASK_FOR_SECRET:
      return "ASK_FOR_SECRET";
    case OTRL_SMPEVENT_IN_PROGRESS:
      return "IN_PROGRESS";
    case OTRL_SMPEVENT_SUCCESS:
      return "SUCCESS";
    case OTRL_SMPEVENT_FAILURE:
      return "FAILURE";
  }
  return "UNKNOWN(" + std::to_string(static_cast<int>(e)) + ")";
}

const char* to_string(LibotrEventKind k) {
  switch (k) {
    case LibotrEventKind::MsgEvent:
      return "msg_event";
    case LibotrEventKind::GoneSecure:
      return "gone_secure";
    case LibotrEventKind::GoneInsecure:
      return "gone_insecure";
    case LibotrEventKind::StillSecure:
      return "still_secure";
    case LibotrEventKind::NewFingerprint:
      return "new_fingerprint";
    case LibotrEventKind::SmpEvent:
      return "smp_event";
    case LibotrEventKind::CreateInstag:
      return "create_instag";
    case LibotrEventKind::CreatePrivkey:
      return "create_privkey";
    case LibotrEventKind::ReceivedSymkey:
      return "received_symkey";
    case LibotrEventKind::WriteFingerprints:
      return "write_fingerprints";
    case LibotrEventKind::TimerControl:
      return "timer_control";
  }
  return "?";
}

std::string LibotrEvent::describe() const {
  std::string s = to_string(kind);
  switch (kind) {
    case LibotrEventKind::MsgEvent:
      s += " " + msg_event_name(static_cast<OtrlMessageEvent>(code));
      if (!text.empty()) {
        s += " \"" + text + "\"";
      }
      if (err) {
        s += " (" + gcry_text(err) + ")";
      }
      break;
    case LibotrEventKind::SmpEvent:
      s += " " + smp_event_name(static_cast<OtrlSMPEvent>(code)) + " " + std::to_string(progress) +
           "%";
      if (!text.empty()) {
        s += " question \"" + text + "\"";
      }
      break;
    case LibotrEventKind::StillSecure:
      s += is_reply ? " (reply)" : "";
      break;
    case LibotrEventKind::NewFingerprint:
      s += " " + hex(fingerprint);
      break;
    case LibotrEventKind::ReceivedSymkey:
      s += " use " + std::to_string(symkey_use) + " key " + hex(symkey);
      break;
    case LibotrEventKind::TimerControl:
      s += " " + std::to_string(code) + " s";
      break;
    default:
      break;
  }
  return s;
}

bool Received::has_event(LibotrEventKind k) const {
  for (const auto& e : events) {
    if (e.kind == k) {
      return true;
    }
  }
  return false;
}
bool Received::has_msg_event(OtrlMessageEvent ev) const {
  for (const auto& e : events) {
    if (e.is_msg_event(ev)) {
      return true;
    }
  }
  return false;
}
bool Received::has_smp_event(OtrlSMPEvent ev) const {
  for (const auto& e : events) {
    if (e.is_smp_event(ev)) {
      return true;
    }
  }
  return false;
}

std::string SessionId::hex() const {
  if (bytes.size() != 8) {
    return otr::test::hex(bytes.data(), bytes.size());
  }
  return otr::test::hex(bytes.data(), 4) + " " + otr::test::hex(bytes.data() + 4, 4);
}

std::string hex(const std::uint8_t* data, std::size_t n) {
  static const char* kDigits = "0123456789abcdef";
  std::string s;
  s.reserve(2 * n);
  for (std::size_t i = 0; i < n; ++i) {
    s.push_back(kDigits[data[i] >> 4]);
    s.push_back(kDigits[data[i] & 15]);
  }
  return s;
}

// --- callbacks ---

// Ops holds the OtrlMessageAppOps table. opdata is always the LibotrEndpoint.
struct LibotrEndpoint::Ops {
  static LibotrEndpoint* self(void* opdata) { return static_cast<LibotrEndpoint*>(opdata); }

  static LibotrEvent event(LibotrEventKind kind, ConnContext* ctx) {
    LibotrEvent e;
    e.kind = kind;
    e.their_instance = ctx != nullptr ? ctx->their_instance : 0;
    return e;
  }

  static OtrlPolicy policy(void* opdata, ConnContext*) { return self(opdata)->m_options.policy; }

  static void create_privkey(void* opdata, const char* accountname, const char* protocol) {
    LibotrEndpoint* me = self(opdata);
    std::string path = me->temp_path("otr.private_key.ondemand");
    gcry_error_t err = otrl_privkey_generate(me->m_us, path.c_str(), accountname, protocol);
    if (me->recording()) {
      LibotrEvent e = event(LibotrEventKind::CreatePrivkey, nullptr);
      e.err = err;
      me->record(std::move(e));
    }
  }

  static int is_logged_in(void* opdata, const char*, const char*, const char*) {
    return self(opdata)->m_options.is_logged_in;
  }

  static void inject_message(void* opdata, const char*, const char*, const char*,
                             const char* message) {
    if (message != nullptr && *message != '\0') {
      self(opdata)->m_sink->emplace_back(message);
    }
  }

  static void update_context_list(void*) {}

  static void new_fingerprint(void* opdata, OtrlUserState, const char*, const char*,
                              const char* username, unsigned char fingerprint[20]) {
    if (!self(opdata)->recording()) {
      return;
    }
    LibotrEvent e = event(LibotrEventKind::NewFingerprint, nullptr);
    e.text = username != nullptr ? username : "";
    std::memcpy(e.fingerprint.data(), fingerprint, e.fingerprint.size());
    self(opdata)->record(std::move(e));
  }

  static void write_fingerprints(void* opdata) {
    LibotrEndpoint* me = self(opdata);
    if (me->recording()) {
      me->record(event(LibotrEventKind::WriteFingerprints, nullptr));
    }
    if (!me->m_options.fingerprints_file.empty()) {
      otrl_privkey_write_fingerprints(me->m_us, me->m_options.fingerprints_file.c_str());
    }
  }

  static void gone_secure(void* opdata, ConnContext* ctx) {
    LibotrEndpoint* me = self(opdata);
    ++me->m_counts.gone_secure;
    if (me->recording()) {
      me->record(event(LibotrEventKind::GoneSecure, ctx));
    }
  }
  static void gone_insecure(void* opdata, ConnContext* ctx) {
    if (self(opdata)->recording()) {
      self(opdata)->record(event(LibotrEventKind::GoneInsecure, ctx));
    }
  }
  static void still_secure(void* opdata, ConnContext* ctx, int is_reply) {
    if (!self(opdata)->recording()) {
      return;
    }
    LibotrEvent e = event(LibotrEventKind::StillSecure, ctx);
    e.is_reply = is_reply;
    self(opdata)->record(std::move(e));
  }

  static int max_message_size(void* opdata, ConnContext*) {
    return self(opdata)->m_options.max_message_size;
  }

  static void received_symkey(void* opdata, ConnContext* ctx, unsigned int use,
                              const unsigned char* usedata, size_t usedatalen,
                              const unsigned char* symkey) {
    if (!self(opdata)->recording()) {
      return;
    }
    LibotrEvent e = event(LibotrEventKind::ReceivedSymkey, ctx);
    e.symkey_use = use;
    if (usedata != nullptr) {
      e.symkey_usedata.assign(reinterpret_cast<const char*>(usedata), usedatalen);
    }
    std::memcpy(e.symkey.data(), symkey, e.symkey.size());
    self(opdata)->record(std::move(e));
  }

  static const char* otr_error_message(void* opdata, ConnContext* ctx, OtrlErrorCode code) {
    LibotrEndpoint* me = self(opdata);
    if (!me->m_options.send_error_messages) {
      return nullptr;
    }
    std::string text;
    if (code == OTRL_ERRCODE_MSG_NOT_IN_PRIVATE) {
      text = "You sent encrypted data to " +
             std::string(ctx != nullptr ? ctx->accountname : me->m_account.c_str()) +
             ", who wasn't expecting it.";
    } else if (const char* t = error_text(code)) {
      text = t;
    } else {
      return nullptr;
    }
    // libotr hands the string back to otr_error_message_free.
    return strdup(text.c_str());
  }
  static void otr_error_message_free(void*, const char* msg) { std::free(const_cast<char*>(msg)); }

  static void handle_smp_event(void* opdata, OtrlSMPEvent smp_event, ConnContext* ctx,
                               unsigned short progress_percent, char* question) {
    LibotrEndpoint* me = self(opdata);
    switch (smp_event) {
      case OTRL_SMPEVENT_ASK_FOR_SECRET:
      case OTRL_SMPEVENT_ASK_FOR_ANSWER:
        ++me->m_counts.smp_asked;
        break;
      case OTRL_SMPEVENT_SUCCESS:
        ++me->m_counts.smp_succeeded;
        break;
      case OTRL_SMPEVENT_IN_PROGRESS:
      case OTRL_SMPEVENT_NONE:
        break;
      default:
        ++me->m_counts.smp_other;
    }
    if (smp_event == OTRL_SMPEVENT_CHEATED || smp_event == OTRL_SMPEVENT_ERROR) {
      me->m_smp_needs_abort = true;
    }
    if (!me->recording()) {
      return;
    }
    LibotrEvent e = event(LibotrEventKind::SmpEvent, ctx);
    e.code = static_cast<int>(smp_event);
    e.progress = progress_percent;
    e.text = question != nullptr ? question : "";
    me->record(std::move(e));
  }

  static void handle_msg_event(void* opdata, OtrlMessageEvent msg_event, ConnContext* ctx,
                               const char* message, gcry_error_t err) {
    LibotrEndpoint* me = self(opdata);
    if (msg_event != OTRL_MSGEVENT_NONE && msg_event != OTRL_MSGEVENT_LOG_HEARTBEAT_RCVD &&
        msg_event != OTRL_MSGEVENT_LOG_HEARTBEAT_SENT) {
      ++me->m_counts.msg_errors;
    }
    if (!me->recording()) {
      return;
    }
    LibotrEvent e = event(LibotrEventKind::MsgEvent, ctx);
    e.code = static_cast<int>(msg_event);
    e.text = message != nullptr ? message : "";
    e.err = err;
    self(opdata)->record(std::move(e));
  }

  static void create_instag(void* opdata, const char*, const char*) {
    LibotrEndpoint* me = self(opdata);
    std::string path =
        me->m_options.instag_file.empty() ? me->temp_path("otr.instag") : me->m_options.instag_file;
    me->generate_instag(path);
    if (!me->recording()) {
      return;
    }
    LibotrEvent e = event(LibotrEventKind::CreateInstag, nullptr);
    char buf[16];
    std::snprintf(buf, sizeof buf, "%08x", me->our_instag());
    e.text = buf;
    me->record(std::move(e));
  }

  static void timer_control(void* opdata, unsigned int interval) {
    if (!self(opdata)->recording()) {
      return;
    }
    LibotrEvent e = event(LibotrEventKind::TimerControl, nullptr);
    e.code = static_cast<int>(interval);
    self(opdata)->record(std::move(e));
  }

  static const OtrlMessageAppOps* table() {
    static const OtrlMessageAppOps ops = [] {
      OtrlMessageAppOps o{};
      o.policy = policy;
      o.create_privkey = create_privkey;
      o.is_logged_in = is_logged_in;
      o.inject_message = inject_message;
      o.update_context_list = update_context_list;
      o.new_fingerprint = new_fingerprint;
      o.write_fingerprints = write_fingerprints;
      o.gone_secure = gone_secure;
      o.gone_insecure = gone_insecure;
      o.still_secure = still_secure;
      o.max_message_size = max_message_size;
      o.account_name = nullptr;
      o.account_name_free = nullptr;
      o.received_symkey = received_symkey;
      o.otr_error_message = otr_error_message;
      o.otr_error_message_free = otr_error_message_free;
      o.resent_msg_prefix = nullptr;  // libotr's default "[resent]"
      o.resent_msg_prefix_free = nullptr;
      o.handle_smp_event = handle_smp_event;
      o.handle_msg_event = handle_msg_event;
      o.create_instag = create_instag;
      o.convert_msg = nullptr;
      o.convert_free = nullptr;
      o.timer_control = timer_control;
      return o;
    }();
    return &ops;
  }
};

// --- construction ---

// free_userstate frees |us| and what libotr 4.1.1 forgets to: otrl_context_forget frees each
// ConnContext but never its ConnContextPriv (malloc'ed by otrl_context_priv_new, its contents
// already wiped by otrl_context_priv_force_finished). Without this, LeakSanitizer reports
// 728 bytes per context.
static void free_userstate(OtrlUserState us) {
  std::vector<ConnContextPriv*> privs;
  for (ConnContext* c = us->context_root; c != nullptr; c = c->next) {
    privs.push_back(c->context_priv);
  }
  otrl_userstate_free(us);
  for (ConnContextPriv* p : privs) {
    std::free(p);
  }
}

void free_libotr_userstate(OtrlUserState us) {
  if (us != nullptr) {
    free_userstate(us);
  }
}

LibotrEndpoint::LibotrEndpoint(std::string account, std::string protocol, std::string peer_name,
                               LibotrEndpointOptions options)
    : m_account(std::move(account)),
      m_protocol(std::move(protocol)),
      m_peer(std::move(peer_name)),
      m_options(std::move(options)) {
  ensure_libotr_init();
  m_us = otrl_userstate_create();
  if (m_us == nullptr) {
    throw LibotrError("otrl_userstate_create failed");
  }
  try {
    load_key();
    load_instag();
    const std::string& fp = m_options.fingerprints_file;
    if (!fp.empty() && std::filesystem::exists(fp)) {
      gcry_error_t err = otrl_privkey_read_fingerprints(m_us, fp.c_str(), nullptr, nullptr);
      if (err) {
        fail("otrl_privkey_read_fingerprints(" + fp + ")", err);
      }
    }
  } catch (...) {
    free_userstate(m_us);
    if (!m_temp_dir.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(m_temp_dir, ec);
    }
    throw;
  }
}

LibotrEndpoint::~LibotrEndpoint() {
  free_userstate(m_us);
  if (!m_temp_dir.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(m_temp_dir, ec);
  }
}

std::string LibotrEndpoint::temp_path(const std::string& name) {
  if (m_temp_dir.empty()) {
    m_temp_dir = make_temp_dir();
  }
  return m_temp_dir + "/" + name;
}

void LibotrEndpoint::load_key() {
  if (m_options.key_file.empty()) {
    m_key_file = temp_path("otr.private_key");
    gcry_error_t err =
        otrl_privkey_generate(m_us, m_key_file.c_str(), m_account.c_str(), m_protocol.c_str());
    if (err) {
      fail("otrl_privkey_generate(" + m_key_file + ")", err);
    }
    return;
  }
  m_key_file = m_options.key_file;
  gcry_error_t err = otrl_privkey_read(m_us, m_key_file.c_str());
  if (err) {
    fail("otrl_privkey_read(" + m_key_file + ")", err);
  }
  if (otrl_privkey_find(m_us, m_account.c_str(), m_protocol.c_str()) != nullptr) {
    return;
  }
  std::string text = relabel_first_key(read_file(m_key_file), m_key_file, m_account, m_protocol);
  // otrl_privkey_read_FILEp sizes its buffer with fstat(), so it needs a real file.
  FilePtr f(std::tmpfile());
  if (!f || std::fwrite(text.data(), 1, text.size(), f.get()) != text.size() ||
      std::fflush(f.get()) != 0) {
    throw LibotrError("cannot write a temporary key file: " + std::string(std::strerror(errno)));
  }
  std::rewind(f.get());
  err = otrl_privkey_read_FILEp(m_us, f.get());
  if (err) {
    fail("otrl_privkey_read_FILEp(relabelled " + m_key_file + ")", err);
  }
  if (otrl_privkey_find(m_us, m_account.c_str(), m_protocol.c_str()) == nullptr) {
    throw LibotrError("relabelled key from " + m_key_file + " is not found under " + m_account);
  }
}

void LibotrEndpoint::generate_instag(const std::string& path) {
  gcry_error_t err =
      otrl_instag_generate(m_us, path.c_str(), m_account.c_str(), m_protocol.c_str());
  if (err) {
    fail("otrl_instag_generate(" + path + ")", err);
  }
}

void LibotrEndpoint::load_instag() {
  if (m_options.instag) {
    otrl_instag_t tag = *m_options.instag;
    if (tag < OTRL_MIN_VALID_INSTAG) {
      throw std::invalid_argument("LibotrEndpoint: instance tag below 0x100");
    }
    // libotr has no setter; it reads "account\tprotocol\t%08x" lines.
    char buf[16];
    std::snprintf(buf, sizeof buf, "%08x", tag);
    std::string line = m_account + "\t" + m_protocol + "\t" + buf + "\n";
    FilePtr f = memory_file(line);
    gcry_error_t err = otrl_instag_read_FILEp(m_us, f.get());
    if (err || our_instag() != tag) {
      throw LibotrError("cannot install instance tag " + std::string(buf));
    }
    if (!m_options.instag_file.empty()) {
      err = otrl_instag_write(m_us, m_options.instag_file.c_str());
      if (err) {
        fail("otrl_instag_write(" + m_options.instag_file + ")", err);
      }
    }
    return;
  }
  if (m_options.lazy_instag) {
    return;
  }
  const std::string& file = m_options.instag_file;
  if (!file.empty() && std::filesystem::exists(file)) {
    gcry_error_t err = otrl_instag_read(m_us, file.c_str());
    if (err) {
      fail("otrl_instag_read(" + file + ")", err);
    }
    if (our_instag() != 0) {
      return;
    }
  }
  generate_instag(file.empty() ? temp_path("otr.instag") : file);
}

std::string LibotrEndpoint::shared_key_file(const std::string& label) {
#ifdef OTR_LIBOTR_FIXTURE_DIR
  std::string fixture = std::string(OTR_LIBOTR_FIXTURE_DIR) + "/" + label + ".key";
  if (std::filesystem::exists(fixture)) {
    return fixture;
  }
#endif
  ensure_libotr_init();
  SharedKeys& keys = shared_keys();
  std::lock_guard<std::mutex> lock(keys.mu);
  auto it = keys.files.find(label);
  if (it != keys.files.end()) {
    return it->second;
  }
  if (keys.dir.empty()) {
    keys.dir = make_temp_dir();
  }
  std::string path = keys.dir + "/" + label + ".key";
  OtrlUserState us = otrl_userstate_create();
  gcry_error_t err = otrl_privkey_generate(us, path.c_str(), label.c_str(), "shared");
  otrl_userstate_free(us);
  if (err) {
    fail("otrl_privkey_generate(" + path + ")", err);
  }
  keys.files.emplace(label, path);
  return path;
}

// --- calls into libotr ---

std::vector<std::string> LibotrEndpoint::take_outbox() {
  std::vector<std::string> out;
  out.swap(m_outbox);
  return out;
}

void LibotrEndpoint::record(LibotrEvent e) {
  m_events.push_back(std::move(e));
}

std::vector<LibotrEvent> LibotrEndpoint::take_events() {
  std::vector<LibotrEvent> out(m_events.begin() + static_cast<std::ptrdiff_t>(m_events_taken),
                               m_events.end());
  m_events_taken = m_events.size();
  return out;
}

bool LibotrEndpoint::send_raw(const std::string& peer, const std::string& text,
                              otrl_instag_t instance, std::vector<std::string>& out) {
  m_sink = &out;
  char* newmsg = nullptr;
  gcry_error_t err = otrl_message_sending(
      m_us, Ops::table(), this, m_account.c_str(), m_protocol.c_str(), peer.c_str(), instance,
      text.c_str(), nullptr, &newmsg, OTRL_FRAGMENT_SEND_ALL, nullptr, nullptr, nullptr);
  m_sink = &m_outbox;
  // Notes §1.10: with OTRL_FRAGMENT_SEND_ALL libotr has already injected *newmsg (or its
  // fragments); the copy it returns must not go out again. When libotr leaves the message
  // alone it returns no *newmsg and injects nothing: then the original text is the message.
  const bool replaced = newmsg != nullptr;
  otrl_message_free(newmsg);
  if (err) {
    fail("otrl_message_sending", err);
  }
  if (!replaced && !text.empty()) {
    out.push_back(text);
  }
  return replaced;
}

int LibotrEndpoint::receive_raw(const std::string& peer, const std::string& wire, char** newmsg,
                                OtrlTLV** tlvs, ConnContext** ctx, std::vector<std::string>& out) {
  m_smp_needs_abort = false;
  m_sink = &out;
  int ignore =
      otrl_message_receiving(m_us, Ops::table(), this, m_account.c_str(), m_protocol.c_str(),
                             peer.c_str(), wire.c_str(), newmsg, tlvs, ctx, nullptr, nullptr);
  if (m_smp_needs_abort && m_options.abort_smp_on_error && *ctx != nullptr) {
    otrl_message_abort_smp(m_us, Ops::table(), this, *ctx);
  }
  m_smp_needs_abort = false;
  m_sink = &m_outbox;
  return ignore;
}

std::vector<std::string> LibotrEndpoint::send(std::string_view text, otrl_instag_t instance) {
  std::vector<std::string> out;
  send_raw(m_peer, std::string(text), instance, out);
  return out;
}

Received LibotrEndpoint::receive(std::string_view wire) {
  std::size_t first_event = m_events.size();
  std::string msg(wire);
  char* newmsg = nullptr;
  OtrlTLV* tlvs = nullptr;
  ConnContext* ctx = nullptr;
  Received r;
  int ignore = receive_raw(m_peer, msg, &newmsg, &tlvs, &ctx, r.to_send);
  r.ignore = ignore != 0;
  if (!r.ignore) {
    r.plaintext = newmsg != nullptr ? std::string(newmsg) : msg;
  }
  otrl_message_free(newmsg);
  for (OtrlTLV* t = tlvs; t != nullptr; t = t->next) {
    r.tlvs.push_back({t->type, std::string(reinterpret_cast<const char*>(t->data), t->len)});
  }
  otrl_tlv_free(tlvs);
  r.their_instance = ctx != nullptr ? ctx->their_instance : 0;
  r.events.assign(m_events.begin() + static_cast<std::ptrdiff_t>(first_event), m_events.end());
  return r;
}

void LibotrEndpoint::send_to(const std::string& peer, const std::string& text,
                             std::vector<std::string>& out) {
  out.clear();
  send_raw(peer, text, OTRL_INSTAG_BEST, out);
}

bool LibotrEndpoint::receive_from(const std::string& peer, const std::string& wire,
                                  std::string* shown, std::vector<std::string>& out) {
  out.clear();
  char* newmsg = nullptr;
  OtrlTLV* tlvs = nullptr;
  ConnContext* ctx = nullptr;
  const int ignore = receive_raw(peer, wire, &newmsg, &tlvs, &ctx, out);
  otrl_tlv_free(tlvs);
  if (ignore != 0) {
    otrl_message_free(newmsg);
    return false;
  }
  if (shown != nullptr) {
    if (newmsg != nullptr) {
      shown->assign(newmsg);
    } else {
      *shown = wire;
    }
  }
  otrl_message_free(newmsg);
  return true;
}

ConnContext* LibotrEndpoint::require_context_of(const std::string& peer, const char* what) const {
  ConnContext* ctx = otrl_context_find(m_us, peer.c_str(), m_account.c_str(), m_protocol.c_str(),
                                       OTRL_INSTAG_BEST, 0, nullptr, nullptr, nullptr);
  if (ctx == nullptr) {
    throw std::logic_error(std::string("LibotrEndpoint::") + what + ": no context for " + peer);
  }
  return ctx;
}

void LibotrEndpoint::smp_initiate_with(const std::string& peer, std::string_view secret,
                                       std::vector<std::string>& out) {
  ConnContext* ctx = require_context_of(peer, "smp_initiate_with");
  out.clear();
  m_sink = &out;
  otrl_message_initiate_smp(m_us, Ops::table(), this, ctx,
                            reinterpret_cast<const unsigned char*>(secret.data()), secret.size());
  m_sink = &m_outbox;
}

void LibotrEndpoint::smp_respond_to(const std::string& peer, std::string_view secret,
                                    std::vector<std::string>& out) {
  ConnContext* ctx = require_context_of(peer, "smp_respond_to");
  out.clear();
  m_sink = &out;
  otrl_message_respond_smp(m_us, Ops::table(), this, ctx,
                           reinterpret_cast<const unsigned char*>(secret.data()), secret.size());
  m_sink = &m_outbox;
}

bool LibotrEndpoint::encrypted_with(const std::string& peer) const {
  ConnContext* ctx = otrl_context_find(m_us, peer.c_str(), m_account.c_str(), m_protocol.c_str(),
                                       OTRL_INSTAG_BEST, 0, nullptr, nullptr, nullptr);
  return ctx != nullptr && ctx->msgstate == OTRL_MSGSTATE_ENCRYPTED;
}

void LibotrEndpoint::forget_all() {
  // otrl_context_forget frees each context but not its ConnContextPriv (see free_userstate).
  std::vector<ConnContextPriv*> privs;
  for (ConnContext* c = m_us->context_root; c != nullptr; c = c->next) {
    privs.push_back(c->context_priv);
  }
  otrl_context_forget_all(m_us);
  for (ConnContextPriv* p : privs) {
    std::free(p);
  }
}

std::vector<std::string> LibotrEndpoint::start_ake(QueryStyle style) {
  if (style == QueryStyle::Default) {
    return send("?OTRv23?");
  }
  char* q = otrl_proto_default_query_msg(m_account.c_str(), m_options.policy);
  if (q == nullptr) {
    throw LibotrError("otrl_proto_default_query_msg failed");
  }
  std::string text(q);
  std::free(q);
  // "?OTRv23?\n<b>…" (notes §1.3): keep only the query, as the golang/coyim helpers do.
  std::size_t nl = text.find('\n');
  if (nl != std::string::npos) {
    text.resize(nl);
  }
  return {text};
}

std::vector<std::string> LibotrEndpoint::disconnect(otrl_instag_t instance) {
  m_outbox.clear();
  otrl_message_disconnect(m_us, Ops::table(), this, m_account.c_str(), m_protocol.c_str(),
                          m_peer.c_str(), instance);
  return take_outbox();
}

std::vector<std::string> LibotrEndpoint::disconnect_all() {
  m_outbox.clear();
  otrl_message_disconnect_all_instances(m_us, Ops::table(), this, m_account.c_str(),
                                        m_protocol.c_str(), m_peer.c_str());
  return take_outbox();
}

ConnContext* LibotrEndpoint::require_context(otrl_instag_t instance, const char* what) const {
  ConnContext* ctx = context(instance);
  if (ctx == nullptr) {
    throw std::logic_error(std::string("LibotrEndpoint::") + what + ": no context for " + m_peer +
                           " instance " + std::to_string(instance));
  }
  return ctx;
}

std::vector<std::string> LibotrEndpoint::smp_initiate(std::string_view secret,
                                                      std::optional<std::string_view> question,
                                                      otrl_instag_t instance) {
  ConnContext* ctx = require_context(instance, "smp_initiate");
  m_outbox.clear();
  const auto* s = reinterpret_cast<const unsigned char*>(secret.data());
  if (question) {
    std::string q(*question);
    otrl_message_initiate_smp_q(m_us, Ops::table(), this, ctx, q.c_str(), s, secret.size());
  } else {
    otrl_message_initiate_smp(m_us, Ops::table(), this, ctx, s, secret.size());
  }
  return take_outbox();
}

std::vector<std::string> LibotrEndpoint::smp_respond(std::string_view secret,
                                                     otrl_instag_t instance) {
  ConnContext* ctx = require_context(instance, "smp_respond");
  m_outbox.clear();
  otrl_message_respond_smp(m_us, Ops::table(), this, ctx,
                           reinterpret_cast<const unsigned char*>(secret.data()), secret.size());
  return take_outbox();
}

std::vector<std::string> LibotrEndpoint::smp_abort(otrl_instag_t instance) {
  ConnContext* ctx = require_context(instance, "smp_abort");
  m_outbox.clear();
  otrl_message_abort_smp(m_us, Ops::table(), this, ctx);
  return take_outbox();
}

SymkeyResult LibotrEndpoint::use_extra_symmetric_key(unsigned int use, std::string_view usedata,
                                                     otrl_instag_t instance) {
  ConnContext* ctx = require_context(instance, "use_extra_symmetric_key");
  m_outbox.clear();
  SymkeyResult r;
  gcry_error_t err = otrl_message_symkey(m_us, Ops::table(), this, ctx, use,
                                         reinterpret_cast<const unsigned char*>(usedata.data()),
                                         usedata.size(), r.key.data());
  r.to_send = take_outbox();
  if (err) {
    fail("otrl_message_symkey", err);
  }
  return r;
}

std::vector<std::string> LibotrEndpoint::poll() {
  m_outbox.clear();
  otrl_message_poll(m_us, Ops::table(), this);
  return take_outbox();
}

// --- queries ---

ConnContext* LibotrEndpoint::context(otrl_instag_t instance) const {
  return otrl_context_find(m_us, m_peer.c_str(), m_account.c_str(), m_protocol.c_str(), instance, 0,
                           nullptr, nullptr, nullptr);
}

LibotrMsgState LibotrEndpoint::msg_state(otrl_instag_t instance) const {
  ConnContext* ctx = context(instance);
  if (ctx == nullptr) {
    return LibotrMsgState::Plaintext;
  }
  switch (ctx->msgstate) {
    case OTRL_MSGSTATE_ENCRYPTED:
      return LibotrMsgState::Encrypted;
    case OTRL_MSGSTATE_FINISHED:
      return LibotrMsgState::Finished;
    case OTRL_MSGSTATE_PLAINTEXT:
      break;
  }
  return LibotrMsgState::Plaintext;
}

std::optional<SessionId> LibotrEndpoint::ssid(otrl_instag_t instance) const {
  ConnContext* ctx = context(instance);
  if (ctx == nullptr || ctx->msgstate != OTRL_MSGSTATE_ENCRYPTED) {
    return std::nullopt;
  }
  SessionId id;
  id.bytes.assign(ctx->sessionid, ctx->sessionid + ctx->sessionid_len);
  id.bold = ctx->sessionid_half;
  return id;
}

std::optional<Fingerprint20> LibotrEndpoint::peer_fingerprint(otrl_instag_t instance) const {
  ConnContext* ctx = context(instance);
  if (ctx == nullptr || ctx->active_fingerprint == nullptr ||
      ctx->active_fingerprint->fingerprint == nullptr) {
    return std::nullopt;
  }
  Fingerprint20 fp;
  std::memcpy(fp.data(), ctx->active_fingerprint->fingerprint, fp.size());
  return fp;
}

std::optional<std::string> LibotrEndpoint::peer_trust(otrl_instag_t instance) const {
  ConnContext* ctx = context(instance);
  if (ctx == nullptr || ctx->active_fingerprint == nullptr) {
    return std::nullopt;
  }
  const char* t = ctx->active_fingerprint->trust;
  return std::string(t != nullptr ? t : "");
}

bool LibotrEndpoint::peer_trusted(otrl_instag_t instance) const {
  ConnContext* ctx = context(instance);
  return ctx != nullptr && ctx->active_fingerprint != nullptr &&
         otrl_context_is_fingerprint_trusted(ctx->active_fingerprint) != 0;
}

void LibotrEndpoint::set_trust(const std::string& trust, otrl_instag_t instance) {
  ConnContext* ctx = require_context(instance, "set_trust");
  if (ctx->active_fingerprint == nullptr) {
    throw std::logic_error("LibotrEndpoint::set_trust: no active fingerprint");
  }
  otrl_context_set_trust(ctx->active_fingerprint, trust.c_str());
}

void LibotrEndpoint::write_fingerprints(const std::string& path) {
  const std::string& p = path.empty() ? m_options.fingerprints_file : path;
  if (p.empty()) {
    throw std::logic_error("LibotrEndpoint::write_fingerprints: no path");
  }
  gcry_error_t err = otrl_privkey_write_fingerprints(m_us, p.c_str());
  if (err) {
    fail("otrl_privkey_write_fingerprints(" + p + ")", err);
  }
}

Fingerprint20 LibotrEndpoint::our_fingerprint() const {
  Fingerprint20 fp{};
  if (otrl_privkey_fingerprint_raw(m_us, fp.data(), m_account.c_str(), m_protocol.c_str()) ==
      nullptr) {
    throw LibotrError("no private key for " + m_account);
  }
  return fp;
}

std::string LibotrEndpoint::our_fingerprint_human() const {
  char buf[OTRL_PRIVKEY_FPRINT_HUMAN_LEN];
  if (otrl_privkey_fingerprint(m_us, buf, m_account.c_str(), m_protocol.c_str()) == nullptr) {
    throw LibotrError("no private key for " + m_account);
  }
  return buf;
}

otrl_instag_t LibotrEndpoint::our_instag() const {
  OtrlInsTag* t = otrl_instag_find(m_us, m_account.c_str(), m_protocol.c_str());
  return t != nullptr ? t->instag : 0;
}

otrl_instag_t LibotrEndpoint::their_instag(otrl_instag_t instance) const {
  ConnContext* ctx = context(instance);
  return ctx != nullptr ? ctx->their_instance : 0;
}

unsigned int LibotrEndpoint::protocol_version(otrl_instag_t instance) const {
  ConnContext* ctx = context(instance);
  return ctx != nullptr ? ctx->protocol_version : 0;
}

KeyIds LibotrEndpoint::key_ids(otrl_instag_t instance) const {
  ConnContext* ctx = context(instance);
  if (ctx == nullptr || ctx->context_priv == nullptr) {
    return {};
  }
  return {ctx->context_priv->our_keyid, ctx->context_priv->their_keyid};
}

std::vector<MacKey20> LibotrEndpoint::pending_revealed_mac_keys(otrl_instag_t instance) const {
  std::vector<MacKey20> keys;
  ConnContext* ctx = context(instance);
  if (ctx == nullptr || ctx->context_priv == nullptr) {
    return keys;
  }
  const ConnContextPriv* p = ctx->context_priv;
  for (unsigned int i = 0; i < p->numsavedkeys; ++i) {
    MacKey20 k;
    std::memcpy(k.data(), p->saved_mac_keys + 20 * i, k.size());
    keys.push_back(k);
  }
  return keys;
}

std::optional<MacKey20> LibotrEndpoint::sending_mac_key(otrl_instag_t instance) const {
  ConnContext* ctx = context(instance);
  if (ctx == nullptr || ctx->msgstate != OTRL_MSGSTATE_ENCRYPTED || ctx->context_priv == nullptr) {
    return std::nullopt;
  }
  MacKey20 k;
  std::memcpy(k.data(), ctx->context_priv->sesskeys[1][0].sendmackey, k.size());
  return k;
}

// --- two endpoints in one process ---

const char* to_string(Direction d) {
  return d == Direction::AliceToBob ? "alice->bob" : "bob->alice";
}

std::string classify_wire(std::string_view wire) {
  // The order of libotr's otrl_message_receiving / otrl_proto_message_type (notes §1.3).
  std::size_t at = wire.find("?OTR");
  if (at == std::string_view::npos) {
    return wire.find(OTRL_MESSAGE_TAG_BASE) != std::string_view::npos ? "tagged-plaintext"
                                                                      : "plaintext";
  }
  std::string_view t = wire.substr(at);
  auto starts = [&](std::string_view p) { return t.substr(0, p.size()) == p; };
  if (starts("?OTR|") || starts("?OTR,")) {
    return "fragment";
  }
  if ((starts("?OTR:AAM") || starts("?OTR:AAI")) && t.size() > 8) {
    switch (t[8]) {
      case 'C':
        return "dh-commit";
      case 'K':
        return "dh-key";
      case 'R':
        return "reveal-signature";
      case 'S':
        return "signature";
      case 'D':
        return "data";
      default:
        return "unknown";
    }
  }
  if (starts("?OTR?") || starts("?OTRv")) {
    return "query";
  }
  if (starts("?OTR:AAEK") || starts("?OTR:AAED")) {
    return "v1";
  }
  if (starts("?OTR Error:")) {
    return "error";
  }
  return "unknown";
}

void LibotrLink::from_alice(const std::vector<std::string>& wires) {
  std::size_t budget = m_max_messages;
  deliver(Direction::AliceToBob, wires, budget);
}

void LibotrLink::from_bob(const std::vector<std::string>& wires) {
  std::size_t budget = m_max_messages;
  deliver(Direction::BobToAlice, wires, budget);
}

void LibotrLink::deliver(Direction d, const std::vector<std::string>& wires, std::size_t& budget) {
  bool to_bob = d == Direction::AliceToBob;
  LibotrEndpoint& sender = to_bob ? m_alice : m_bob;
  LibotrEndpoint& receiver = to_bob ? m_bob : m_alice;
  // Taken before any reply can change the sender's keys: the key that MACs these messages.
  std::optional<MacKey20> mac_key = sender.sending_mac_key();
  for (const std::string& w : wires) {
    if (budget == 0) {
      throw std::runtime_error("LibotrLink: more than " + std::to_string(m_max_messages) +
                               " messages in one exchange");
    }
    --budget;
    TranscriptEntry e;
    e.direction = d;
    e.wire = w;
    e.kind = classify_wire(w);
    if (e.kind == "data" || e.kind == "fragment") {
      e.sender_mac_key = mac_key;
    }
    std::size_t index = m_log.size();
    m_log.push_back(e);
    Received r = receiver.receive(w);
    m_log[index].shown = r.plaintext;
    for (const ReceivedTlv& t : r.tlvs) {
      m_log[index].tlv_types.push_back(t.type);
    }
    if (r.plaintext && !r.plaintext->empty()) {
      (to_bob ? m_shown_to_bob : m_shown_to_alice).push_back(*r.plaintext);
    }
    deliver(to_bob ? Direction::BobToAlice : Direction::AliceToBob, r.to_send, budget);
  }
}

namespace {

void require(bool ok, const std::string& what) {
  if (!ok) {
    throw std::runtime_error("record_libotr_transcript: " + what);
  }
}

}  // namespace

LibotrTranscript record_libotr_transcript(const TranscriptOptions& options) {
  LibotrEndpointOptions ao;
  ao.key_file = LibotrEndpoint::shared_key_file("alice");
  ao.instag = options.alice_instag;
  ao.max_message_size = options.max_message_size;
  LibotrEndpointOptions bo;
  bo.key_file = LibotrEndpoint::shared_key_file("bob");
  bo.instag = options.bob_instag;
  bo.max_message_size = options.max_message_size;
  LibotrEndpoint alice("alice", options.protocol, "bob", ao);
  LibotrEndpoint bob("bob", options.protocol, "alice", bo);
  LibotrLink link(alice, bob);

  LibotrTranscript t;
  t.alice_instag = alice.our_instag();
  t.bob_instag = bob.our_instag();
  t.alice_fingerprint = alice.our_fingerprint();
  t.bob_fingerprint = bob.our_fingerprint();

  // 1. Query and AKE.
  link.from_alice(alice.start_ake(QueryStyle::Bare));
  require(alice.msg_state() == LibotrMsgState::Encrypted &&
              bob.msg_state() == LibotrMsgState::Encrypted,
          "AKE did not finish");
  auto ssid_a = alice.ssid();
  auto ssid_b = bob.ssid();
  require(ssid_a && ssid_b && ssid_a->bytes == ssid_b->bytes, "ssids differ");
  t.ssid = *ssid_a;

  // 2. Data messages both ways, so key ids advance and MAC keys get revealed.
  const char* lines[][2] = {{"a", "hello bob"},    {"b", "hello alice"},  {"a", "how are you?"},
                            {"b", "fine, thanks"}, {"a", "good to hear"}, {"b", "bye for now"}};
  for (const auto& l : lines) {
    bool from_a = l[0][0] == 'a';
    if (from_a) {
      link.from_alice(alice.send(l[1]));
      require(!link.shown_to_bob().empty() && link.shown_to_bob().back() == l[1],
              std::string("bob did not see \"") + l[1] + "\"");
    } else {
      link.from_bob(bob.send(l[1]));
      require(!link.shown_to_alice().empty() && link.shown_to_alice().back() == l[1],
              std::string("alice did not see \"") + l[1] + "\"");
    }
  }

  // 3. SMP with a question; Bob answers once libotr asks him.
  t.smp_question = "favourite word?";
  t.smp_secret = "otrchat";
  bob.take_events();
  alice.take_events();
  link.from_alice(alice.smp_initiate(t.smp_secret, t.smp_question));
  bool asked = false;
  for (const LibotrEvent& e : bob.take_events()) {
    asked = asked || e.is_smp_event(OTRL_SMPEVENT_ASK_FOR_ANSWER);
  }
  require(asked, "bob was not asked for the SMP answer");
  link.from_bob(bob.smp_respond(t.smp_secret));
  bool alice_ok = false;
  bool bob_ok = false;
  for (const LibotrEvent& e : alice.take_events()) {
    alice_ok = alice_ok || e.is_smp_event(OTRL_SMPEVENT_SUCCESS);
  }
  for (const LibotrEvent& e : bob.take_events()) {
    bob_ok = bob_ok || e.is_smp_event(OTRL_SMPEVENT_SUCCESS);
  }
  t.smp_succeeded = alice_ok && bob_ok;
  require(t.smp_succeeded, "SMP did not succeed on both sides");

  // 4. Alice ends the conversation. Her keys are wiped by the disconnect, so take the MAC key
  // of the Disconnect message first.
  std::optional<MacKey20> disconnect_key = alice.sending_mac_key();
  std::size_t before = link.log().size();
  link.from_alice(alice.disconnect());
  require(link.log().size() > before, "disconnect sent nothing");
  require(bob.msg_state() == LibotrMsgState::Finished, "bob is not FINISHED after disconnect");

  t.messages = link.log();
  for (std::size_t i = before; i < t.messages.size(); ++i) {
    t.messages[i].sender_mac_key = disconnect_key;  // the Disconnect message or its fragments
  }
  return t;
}

// --- framing ---

std::string unframe_line(std::string_view line) {
  if (!line.empty() && line.back() == '\r') {
    line.remove_suffix(1);
  }
  std::vector<std::string> problems;  // unknown escapes are kept literally, as otrchat does
  return LineCodec::unescape(line, 0, problems);
}

}  // namespace otr::test
