// LibotrUser: the benchmark's own thin driver for libotr 4.1.1. One OtrlUserState (one local
// account) talking to any number of peers by name, with the cheapest callbacks libotr allows.
//
// tests/support/libotr_endpoint.hpp is the full-featured driver for interop tests: it records
// every callback as an event and copies TLVs and plaintexts into structures for assertions.
// That bookkeeping would be charged to libotr's side of the benchmark, so this driver does only
// what any client must do: hand libotr the message, collect what it injects, free what it
// returns. The process-wide initialisation (otrl_init before any libgcrypt allocation) still
// comes from otr_libotr_support, which this program links.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

// libotr's headers have no extern "C" guards and depend on their order (see libotr_endpoint.hpp).
// clang-format off
extern "C" {
#include <libotr/proto.h>
#include <libotr/tlv.h>
#include <libotr/userstate.h>
#include <libotr/context.h>
#include <libotr/instag.h>
#include <libotr/privkey.h>
#include <libotr/message.h>
}
// clang-format on

namespace otr::bench {

// kProtocol is the protocol name of the checked-in test keys (tests/kat/vectors/test_keys.privkey).
inline constexpr const char* kProtocol = "otrchat-test";

class LibotrUser {
 public:
  // LibotrUser creates a userstate for |account|, reads every key in |key_file| and installs
  // |instag| as our instance tag. Throws std::runtime_error if the key file cannot be read or
  // holds no key for |account|.
  LibotrUser(std::string account, const std::string& key_file, otrl_instag_t instag);
  ~LibotrUser();
  LibotrUser(const LibotrUser&) = delete;
  LibotrUser& operator=(const LibotrUser&) = delete;

  // query returns libotr's default query message for our policy (what otrl_message_sending puts
  // on the wire for "?OTRv23?").
  std::string query() const;

  // send passes |text| to |peer| through otrl_message_sending and appends the wire strings to
  // |out| (cleared first). Throws std::runtime_error if libotr reports an error.
  void send(const std::string& peer, const std::string& text, std::vector<std::string>& out);

  // receive passes one wire string from |peer| through otrl_message_receiving. Returns true and
  // sets |*shown| when libotr hands the user a message; false for internal protocol messages.
  // Anything libotr injects in reply is appended to |out| (cleared first).
  bool receive(const std::string& peer, const std::string& wire, std::string* shown,
               std::vector<std::string>& out);

  // smp_start begins SMP with |peer| (otrl_message_initiate_smp) and smp_respond answers the
  // peer's request (otrl_message_respond_smp), as a client does after
  // OTRL_SMPEVENT_ASK_FOR_SECRET. What libotr injects is appended to |out| (cleared first).
  // Throws std::runtime_error if there is no context for |peer|.
  void smp_start(const std::string& peer, const std::string& secret,
                 std::vector<std::string>& out);
  void smp_respond(const std::string& peer, const std::string& secret,
                   std::vector<std::string>& out);
  // SMP events seen so far: requests for our secret, successes, and anything else that ends an
  // exchange (failure, cheated, error, abort).
  std::uint64_t smp_asked() const { return m_smp_asked; }
  std::uint64_t smp_succeeded() const { return m_smp_succeeded; }
  std::uint64_t smp_other() const { return m_smp_other; }

  // encrypted says whether the best context for |peer| is MSGSTATE_ENCRYPTED.
  bool encrypted(const std::string& peer) const;
  // add_idle_context creates a plaintext context for |peer| (as libotr does on the first
  // message from a new name), so that lookups have a list to walk.
  void add_idle_context(const std::string& peer);
  // forget_all drops every context (between AKE repetitions).
  void forget_all();

  std::uint64_t gone_secure_count() const { return m_gone_secure; }
  std::uint64_t error_events() const { return m_error_events; }
  OtrlUserState userstate() const { return m_us; }

 private:
  struct Ops;

  std::string m_account;
  OtrlUserState m_us = nullptr;
  std::vector<std::string>* m_outbox = nullptr;
  std::uint64_t m_gone_secure = 0;
  std::uint64_t m_error_events = 0;
  std::uint64_t m_smp_asked = 0;
  std::uint64_t m_smp_succeeded = 0;
  std::uint64_t m_smp_other = 0;
};

}  // namespace otr::bench
