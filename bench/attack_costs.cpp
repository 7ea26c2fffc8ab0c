// otr_attack_costs: what an attacker on the network can make an otrchat Account spend (issue 12).
// Not a test (it times things); run it by hand and quote its output:
//   build/bench/otr_attack_costs
// 1. A forged data message for every combination of key ids around a live session: the time
//    and the exponentiations of its first and of its second delivery.
// 2. Resident memory after D-H Commits from 20,000 invented instance tags, and after 200 first
//    fragments of 1 MB from invented instances; the replies sent.
// 3. 5,000 injected "?OTR Error:" lines: the Query messages sent in reply.
#include <chrono>
#include <cstdio>
#include <deque>
#include <string>

#include "crypto/crypto.hpp"
#include "otr/account.hpp"
#include "otr/wire.hpp"
#include "support/fixtures.hpp"

using namespace otr;

namespace {

constexpr std::uint32_t kAlice = 0x0aaaaaaa;
constexpr std::uint32_t kBob = 0x0b000001;

long rss_kib() {
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  long pages = 0;
  long resident = 0;
  if (f != nullptr) {
    if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) {
      resident = 0;
    }
    std::fclose(f);
  }
  return resident * 4;
}

std::size_t count_sent(const Events& evs, wire::Kind kind, std::optional<wire::MessageType> type) {
  std::size_t n = 0;
  for (const Event& e : evs) {
    const auto* s = std::get_if<SendToPeer>(&e.action);
    if (s == nullptr || wire::classify(s->message) != kind) {
      continue;
    }
    if (!type) {
      ++n;
      continue;
    }
    Result<Bytes> b = wire::dearmor(s->message);
    Result<wire::BinaryMessage> m =
        b ? wire::decode_binary(*b) : Result<wire::BinaryMessage>(b.error());
    if (m && std::visit([](const auto& x) { return x.header.type; }, *m) == *type) {
      ++n;
    }
  }
  return n;
}

struct World {
  DeterministicRng ra{std::uint64_t{1}};
  DeterministicRng rb{std::uint64_t{2}};
  Account alice{test::make_identity("alice", kAlice), "bench", Policy::opportunistic(), ra};
  Account bob{test::make_identity("bob", kBob), "bench", Policy::opportunistic(), rb};
  TimePoint now{};
  std::vector<std::string> bob_data;
  std::string alice_commit;

  void exchange(char from, Events evs) {
    std::deque<std::pair<char, std::string>> q;
    auto take = [&](char who, Events e) {
      for (Event& x : e) {
        if (auto* s = std::get_if<SendToPeer>(&x.action)) {
          q.emplace_back(who, s->message);
          if (who == 'b' && count_sent({x}, wire::Kind::Encoded, wire::MessageType::Data) == 1) {
            bob_data.push_back(s->message);
          }
          if (who == 'a' && count_sent({x}, wire::Kind::Encoded, wire::MessageType::DhCommit)) {
            alice_commit = s->message;
          }
        }
      }
    };
    take(from, std::move(evs));
    while (!q.empty()) {
      auto [who, m] = q.front();
      q.pop_front();
      take(who == 'a' ? 'b' : 'a',
           who == 'a' ? bob.receive("alice", m, now) : alice.receive("bob", m, now));
    }
  }
  void setup() {
    exchange('b', bob.start("alice", now));
    for (int i = 0; i < 3; ++i) {
      exchange('b', bob.send("alice", "b" + std::to_string(i), now));
      exchange('a', alice.send("bob", "a" + std::to_string(i), now));
    }
  }
};

}  // namespace

int main() {
  crypto::init();
  using Clock = std::chrono::steady_clock;

  std::printf("1. Forged data messages (bad MAC) for every key-id combination, at alice\n");
  std::printf("   %-22s %14s %8s %14s %8s\n", "bob's/alice's key id", "1st delivery", "exps",
              "2nd delivery", "exps");
  {
    World w;
    w.setup();
    Result<Bytes> bytes = wire::dearmor(w.bob_data.back());
    wire::DataMessage base = std::get<wire::DataMessage>(*wire::decode_binary(*bytes));
    for (int ds = -1; ds <= 1; ++ds) {
      for (int dr = -1; dr <= 1; ++dr) {
        wire::DataMessage f = base;
        f.sender_keyid = static_cast<std::uint32_t>(static_cast<int>(base.sender_keyid) + ds);
        f.recipient_keyid = static_cast<std::uint32_t>(static_cast<int>(base.recipient_keyid) + dr);
        f.ctr[0] = 0x40;
        f.mac[0] ^= 0x5a;
        f.old_mac_keys.clear();
        const std::string forged = wire::armor(wire::encode_binary(f));
        double us[2];
        std::uint64_t exps[2];
        for (int round = 0; round < 2; ++round) {
          const std::uint64_t before = crypto::dh_counters().shared_secrets;
          const auto t0 = Clock::now();
          w.alice.receive("bob", forged, w.now);
          us[round] = std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
          exps[round] = crypto::dh_counters().shared_secrets - before;
        }
        char ids[32];
        std::snprintf(ids, sizeof ids, "%u/%u", f.sender_keyid, f.recipient_keyid);
        std::printf("   %-22s %11.1f us %8llu %11.1f us %8llu\n", ids, us[0],
                    static_cast<unsigned long long>(exps[0]), us[1],
                    static_cast<unsigned long long>(exps[1]));
      }
    }
  }

  std::printf("\n2. Memory under invented instance tags (resident set, KiB)\n");
  {
    World w;
    w.setup();
    const long before = rss_kib();
    std::size_t dh_keys = 0;
    std::size_t errors = 0;
    Result<Bytes> bytes = wire::dearmor(w.alice_commit);
    wire::BinaryMessage commit = *wire::decode_binary(*bytes);
    for (std::uint32_t i = 0; i < 20000; ++i) {
      std::get<wire::DhCommit>(commit).header.sender_tag = 0x70000000 + i;
      std::get<wire::DhCommit>(commit).header.receiver_tag = 0;
      Events evs = w.alice.receive("bob", wire::armor(wire::encode_binary(commit)), w.now);
      dh_keys += count_sent(evs, wire::Kind::Encoded, wire::MessageType::DhKey);
      errors += count_sent(evs, wire::Kind::Error, std::nullopt);
    }
    const long after_commits = rss_kib();
    std::printf(
        "   20,000 D-H Commits from new tags: RSS %ld -> %ld (+%ld), instances kept %zu, "
        "D-H Keys sent %zu, errors sent %zu\n",
        before, after_commits, after_commits - before, w.alice.instances("bob").size(), dh_keys,
        errors);
    const std::string piece(1000000, 'A');
    std::size_t peak = 0;
    for (std::uint32_t i = 0; i < 200; ++i) {
      char head[64];
      std::snprintf(head, sizeof head, "?OTR|%08x|%08x,00001,00002,", 0x71000000 + i, kAlice);
      w.alice.receive("bob", std::string(head) + piece + ",", w.now);
      peak = std::max(peak, w.alice.buffered_bytes("bob"));
    }
    const long after_fragments = rss_kib();
    std::printf(
        "   200 first fragments of 1 MB from new tags: RSS %ld -> %ld (+%ld), buffered "
        "at most %zu bytes, now %zu\n",
        after_commits, after_fragments, after_fragments - after_commits, peak,
        w.alice.buffered_bytes("bob"));
  }

  std::printf("\n3. Injected \"?OTR Error:\" lines at alice (private with bob)\n");
  {
    World w;
    w.setup();
    std::size_t queries = 0;
    for (int i = 0; i < 5000; ++i) {
      queries += count_sent(w.alice.receive("bob", "?OTR Error: injected", w.now),
                            wire::Kind::Query, std::nullopt);
    }
    std::printf("   5,000 in one instant: %zu Query messages sent\n", queries);
    queries = 0;
    for (int i = 0; i < 5000; ++i) {
      w.now += std::chrono::milliseconds(100);
      queries += count_sent(w.alice.receive("bob", "?OTR Error: injected", w.now),
                            wire::Kind::Query, std::nullopt);
    }
    std::printf("   5,000 at 10 per second (500 s): %zu Query messages sent\n", queries);
  }
  return 0;
}
