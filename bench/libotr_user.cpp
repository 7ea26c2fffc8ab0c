// LibotrUser: see libotr_user.hpp.
#include "libotr_user.hpp"

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <stdexcept>

namespace otr::bench {

namespace {

struct FileCloser {
  void operator()(FILE* f) const {
    if (f != nullptr) {
      std::fclose(f);
    }
  }
};

[[noreturn]] void fail(const std::string& what, gcry_error_t err) {
  throw std::runtime_error("libotr: " + what + ": " + gcry_strerror(err));
}

}  // namespace

// Ops is the OtrlMessageAppOps table: opdata is always the LibotrUser. Callbacks the benchmark
// never triggers (key or tag generation, fragments) are cheap no-ops; SMP events are counted.
struct LibotrUser::Ops {
  static LibotrUser* self(void* opdata) { return static_cast<LibotrUser*>(opdata); }

  static OtrlPolicy policy(void*, ConnContext*) { return OTRL_POLICY_DEFAULT; }
  static void create_privkey(void*, const char*, const char*) {}
  static int is_logged_in(void*, const char*, const char*, const char*) { return 1; }
  static void inject_message(void* opdata, const char*, const char*, const char*,
                             const char* message) {
    LibotrUser* me = self(opdata);
    if (me->m_outbox != nullptr && message != nullptr && *message != '\0') {
      me->m_outbox->emplace_back(message);
    }
  }
  static void update_context_list(void*) {}
  static void new_fingerprint(void*, OtrlUserState, const char*, const char*, const char*,
                              unsigned char[20]) {}
  static void write_fingerprints(void*) {}
  static void gone_secure(void* opdata, ConnContext*) { ++self(opdata)->m_gone_secure; }
  static void gone_insecure(void*, ConnContext*) {}
  static void still_secure(void*, ConnContext*, int) {}
  static int max_message_size(void*, ConnContext*) { return 0; }
  static void received_symkey(void*, ConnContext*, unsigned int, const unsigned char*, size_t,
                              const unsigned char*) {}
  static const char* otr_error_message(void*, ConnContext*, OtrlErrorCode) { return nullptr; }
  static void otr_error_message_free(void*, const char*) {}
  static void handle_smp_event(void* opdata, OtrlSMPEvent event, ConnContext*, unsigned short,
                               char*) {
    LibotrUser* me = self(opdata);
    switch (event) {
      case OTRL_SMPEVENT_ASK_FOR_SECRET:
      case OTRL_SMPEVENT_ASK_FOR_ANSWER:
        ++me->m_smp_asked;
        return;
      case OTRL_SMPEVENT_SUCCESS:
        ++me->m_smp_succeeded;
        return;
      case OTRL_SMPEVENT_IN_PROGRESS:
      case OTRL_SMPEVENT_NONE:
        return;
      default:
        ++me->m_smp_other;
    }
  }
  static void handle_msg_event(void* opdata, OtrlMessageEvent event, ConnContext*, const char*,
                               gcry_error_t) {
    switch (event) {
      case OTRL_MSGEVENT_LOG_HEARTBEAT_RCVD:
      case OTRL_MSGEVENT_LOG_HEARTBEAT_SENT:
      case OTRL_MSGEVENT_NONE:
        return;
      default:
        ++self(opdata)->m_error_events;
    }
  }
  static void create_instag(void*, const char*, const char*) {}
  static void timer_control(void*, unsigned int) {}

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
      o.received_symkey = received_symkey;
      o.otr_error_message = otr_error_message;
      o.otr_error_message_free = otr_error_message_free;
      o.handle_smp_event = handle_smp_event;
      o.handle_msg_event = handle_msg_event;
      o.create_instag = create_instag;
      o.timer_control = timer_control;
      return o;
    }();
    return &ops;
  }
};

LibotrUser::LibotrUser(std::string account, const std::string& key_file, otrl_instag_t instag)
    : m_account(std::move(account)) {
  m_us = otrl_userstate_create();
  if (m_us == nullptr) {
    throw std::runtime_error("libotr: otrl_userstate_create failed");
  }
  gcry_error_t err = otrl_privkey_read(m_us, key_file.c_str());
  if (err) {
    otrl_userstate_free(m_us);
    fail("otrl_privkey_read(" + key_file + ")", err);
  }
  if (otrl_privkey_find(m_us, m_account.c_str(), kProtocol) == nullptr) {
    otrl_userstate_free(m_us);
    throw std::runtime_error("libotr: no key for " + m_account + " in " + key_file);
  }
  // libotr has no setter for the instance tag; it reads "account\tprotocol\t%08x" lines.
  char line[256];
  int n = std::snprintf(line, sizeof line, "%s\t%s\t%08x\n", m_account.c_str(), kProtocol,
                        static_cast<unsigned>(instag));
  std::unique_ptr<FILE, FileCloser> f(fmemopen(line, static_cast<std::size_t>(n), "r"));
  err = f ? otrl_instag_read_FILEp(m_us, f.get()) : gcry_error(GPG_ERR_ENOMEM);
  if (err) {
    otrl_userstate_free(m_us);
    fail("otrl_instag_read_FILEp", err);
  }
}

LibotrUser::~LibotrUser() { otrl_userstate_free(m_us); }

std::string LibotrUser::query() const {
  char* q = otrl_proto_default_query_msg(m_account.c_str(), OTRL_POLICY_DEFAULT);
  if (q == nullptr) {
    throw std::runtime_error("libotr: otrl_proto_default_query_msg failed");
  }
  std::string text(q);
  std::free(q);
  return text;
}

void LibotrUser::send(const std::string& peer, const std::string& text,
                      std::vector<std::string>& out) {
  out.clear();
  m_outbox = &out;
  char* newmsg = nullptr;
  gcry_error_t err = otrl_message_sending(m_us, Ops::table(), this, m_account.c_str(), kProtocol,
                                          peer.c_str(), OTRL_INSTAG_BEST, text.c_str(), nullptr,
                                          &newmsg, OTRL_FRAGMENT_SEND_ALL, nullptr, nullptr,
                                          nullptr);
  m_outbox = nullptr;
  // With OTRL_FRAGMENT_SEND_ALL libotr has already injected the encrypted message; the copy it
  // hands back is only freed. Without a replacement the text goes out as it is.
  const bool replaced = newmsg != nullptr;
  otrl_message_free(newmsg);
  if (err) {
    fail("otrl_message_sending", err);
  }
  if (!replaced) {
    out.push_back(text);
  }
}

bool LibotrUser::receive(const std::string& peer, const std::string& wire, std::string* shown,
                         std::vector<std::string>& out) {
  out.clear();
  m_outbox = &out;
  char* newmsg = nullptr;
  OtrlTLV* tlvs = nullptr;
  int ignore = otrl_message_receiving(m_us, Ops::table(), this, m_account.c_str(), kProtocol,
                                      peer.c_str(), wire.c_str(), &newmsg, &tlvs, nullptr,
                                      nullptr, nullptr);
  m_outbox = nullptr;
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

namespace {
ConnContext* best_context(OtrlUserState us, const std::string& peer, const std::string& account) {
  ConnContext* c = otrl_context_find(us, peer.c_str(), account.c_str(), kProtocol,
                                     OTRL_INSTAG_BEST, 0, nullptr, nullptr, nullptr);
  if (c == nullptr) {
    throw std::runtime_error("libotr: no context for " + peer);
  }
  return c;
}
}  // namespace

void LibotrUser::smp_start(const std::string& peer, const std::string& secret,
                           std::vector<std::string>& out) {
  ConnContext* c = best_context(m_us, peer, m_account);
  out.clear();
  m_outbox = &out;
  otrl_message_initiate_smp(m_us, Ops::table(), this, c,
                            reinterpret_cast<const unsigned char*>(secret.data()), secret.size());
  m_outbox = nullptr;
}

void LibotrUser::smp_respond(const std::string& peer, const std::string& secret,
                             std::vector<std::string>& out) {
  ConnContext* c = best_context(m_us, peer, m_account);
  out.clear();
  m_outbox = &out;
  otrl_message_respond_smp(m_us, Ops::table(), this, c,
                           reinterpret_cast<const unsigned char*>(secret.data()), secret.size());
  m_outbox = nullptr;
}

bool LibotrUser::encrypted(const std::string& peer) const {
  ConnContext* c = otrl_context_find(m_us, peer.c_str(), m_account.c_str(), kProtocol,
                                     OTRL_INSTAG_BEST, 0, nullptr, nullptr, nullptr);
  return c != nullptr && c->msgstate == OTRL_MSGSTATE_ENCRYPTED;
}

void LibotrUser::add_idle_context(const std::string& peer) {
  otrl_context_find(m_us, peer.c_str(), m_account.c_str(), kProtocol, OTRL_INSTAG_MASTER, 1,
                    nullptr, nullptr, nullptr);
}

void LibotrUser::forget_all() { otrl_context_forget_all(m_us); }

}  // namespace otr::bench
