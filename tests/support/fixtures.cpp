#include "support/fixtures.hpp"

#include <map>
#include <mutex>
#include <stdexcept>

#include "crypto/crypto.hpp"
#include "otr/keyfile.hpp"

namespace otr::test {

std::string test_key_file() {
  return std::string(OTR_TEST_DATA_DIR) + "/kat/vectors/test_keys.privkey";
}

const PrivateKey& test_key(std::string_view name) {
  static std::mutex mu;
  static std::map<std::string, PrivateKey, std::less<>> keys;
  std::lock_guard<std::mutex> lock(mu);
  if (keys.empty()) {
    crypto::init();
    auto loaded = keyfile::parse_private_keys([] {
      FILE* f = std::fopen(test_key_file().c_str(), "rb");
      if (f == nullptr) {
        throw std::runtime_error("cannot open " + test_key_file());
      }
      std::string text;
      char buf[4096];
      std::size_t n;
      while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) {
        text.append(buf, n);
      }
      std::fclose(f);
      return text;
    }());
    if (!loaded) {
      throw std::runtime_error("test keys: " + loaded.error().message);
    }
    for (auto& k : *loaded) {
      keys.emplace(k.account, k.key);
    }
  }
  auto it = keys.find(name);
  if (it == keys.end()) {
    throw std::runtime_error("no test key named " + std::string(name));
  }
  return it->second;
}

Identity make_identity(std::string_view name, std::uint32_t tag) {
  return Identity{test_key(name), tag, std::string(name)};
}

void Collected::add(Actions actions) {
  for (Action& a : actions) {
    std::visit(
        [&](auto& x) {
          using T = std::decay_t<decltype(x)>;
          if constexpr (std::is_same_v<T, SendToPeer>) {
            sent.push_back(std::move(x.message));
          } else if constexpr (std::is_same_v<T, ShowPlaintext>) {
            shown.push_back(std::move(x));
          } else if constexpr (std::is_same_v<T, StateChanged>) {
            states.push_back(std::move(x));
          } else if constexpr (std::is_same_v<T, PeerFingerprint>) {
            fingerprints.push_back(std::move(x));
          } else if constexpr (std::is_same_v<T, Notice>) {
            notices.push_back(std::move(x));
          } else if constexpr (std::is_same_v<T, SmpUpdate>) {
            smp.push_back(std::move(x));
          } else if constexpr (std::is_same_v<T, MessageSent>) {
            sends.push_back(x.mode);
          } else {
            extra_keys.push_back(std::move(x));
          }
        },
        a);
  }
}

bool Collected::has_notice(NoticeCode c) const {
  for (const Notice& n : notices) {
    if (n.code == c) {
      return true;
    }
  }
  return false;
}

std::vector<std::string> Collected::texts() const {
  std::vector<std::string> out;
  for (const ShowPlaintext& s : shown) {
    out.push_back(s.text);
  }
  return out;
}

namespace {
void queue(Actions& actions, std::deque<std::string>& q) {
  for (const Action& a : actions) {
    if (const auto* s = std::get_if<SendToPeer>(&a)) {
      q.push_back(s->message);
    }
  }
}
}  // namespace

void Pair::a_does(Actions actions) {
  queue(actions, to_b);
  at_a.add(std::move(actions));
}

void Pair::b_does(Actions actions) {
  queue(actions, to_a);
  at_b.add(std::move(actions));
}

std::size_t Pair::pump(std::size_t limit) {
  std::size_t delivered = 0;
  while ((!to_a.empty() || !to_b.empty()) && delivered < limit) {
    if (!to_b.empty()) {
      std::string m = std::move(to_b.front());
      to_b.pop_front();
      wire_log.emplace_back('A', m);
      b_does(b.receive(m, now));
      ++delivered;
    }
    if (!to_a.empty()) {
      std::string m = std::move(to_a.front());
      to_a.pop_front();
      wire_log.emplace_back('B', m);
      a_does(a.receive(m, now));
      ++delivered;
    }
  }
  return delivered;
}

}  // namespace otr::test
