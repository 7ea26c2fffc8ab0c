// Toolkit: transcripts (read, write, parse with fragment reassembly), the MAC-key audit and the
// DH public keys a transcript reveals. The line framing is otrchat's (otr/base/line_codec.hpp).
#include <algorithm>
#include <map>
#include <tuple>

#include "crypto/crypto.hpp"
#include "otr/base/line_codec.hpp"
#include "toolkit/toolkit_internal.hpp"

namespace otr::toolkit {

namespace {

// StreamKey identifies one sender's fragment stream: label, version and instance tags.
using StreamKey = std::tuple<std::string, std::uint16_t, std::uint32_t, std::uint32_t>;

struct Stream {
  wire::Reassembler reassembler;
  std::size_t first = 0;  // number of the fragment that started the sequence (k = 1)
};

// ParsedWithRaw is a transcript entry plus the binary encoding of an encoded message.
struct ParsedWithRaw {
  ParsedEntry entry;
  Bytes raw;
};

std::vector<ParsedWithRaw> parse_all(const Transcript& t) {
  std::vector<ParsedWithRaw> out;
  std::map<StreamKey, Stream> streams;
  for (const TranscriptMessage& msg : t.messages) {
    Bytes raw;
    Result<ParsedMessage> parsed = detail::parse_keeping_raw(msg.wire, &raw);
    std::optional<wire::Fragment> fragment;
    if (parsed && parsed->fragment) {
      fragment = parsed->fragment;
    }
    out.push_back(
        {ParsedEntry{msg.number, msg.sender, std::move(parsed), std::nullopt}, std::move(raw)});
    if (!fragment) {
      continue;
    }
    Stream& s = streams[StreamKey{msg.sender, fragment->version, fragment->sender_tag,
                                  fragment->receiver_tag}];
    if (fragment->k == 1) {
      s.first = msg.number;
    }
    Result<std::optional<std::string>> whole = s.reassembler.add(*fragment);
    if (!whole) {
      out.back().entry.parsed =
          make_error(whole.error().code, "Fragment dropped: " + whole.error().message);
      continue;
    }
    if (!whole->has_value()) {
      continue;
    }
    Bytes whole_raw;
    Result<ParsedMessage> reassembled = detail::parse_keeping_raw(**whole, &whole_raw);
    out.push_back({ParsedEntry{msg.number, msg.sender, std::move(reassembled),
                               std::pair{s.first, msg.number}},
                   std::move(whole_raw)});
  }
  return out;
}

std::string who(std::size_t number, const std::string& sender) {
  return "message " + std::to_string(number) + (sender.empty() ? "" : " (" + sender + ")");
}

}  // namespace

// --- Transcripts ---

void Transcript::add(std::string sender, std::string wire) {
  TranscriptMessage m;
  m.number = messages.size() + 1;
  m.line = m.number;
  m.sender = std::move(sender);
  m.wire = std::move(wire);
  messages.push_back(std::move(m));
}

Transcript read_transcript(std::string_view text) {
  Transcript t;
  bool labelled = false;
  std::size_t line_number = 0;
  while (!text.empty()) {
    std::size_t lf = text.find('\n');
    std::string_view line = text.substr(0, lf);
    text = lf == std::string_view::npos ? std::string_view{} : text.substr(lf + 1);
    ++line_number;
    if (!line.empty() && line.back() == '\r') {
      line.remove_suffix(1);
    }
    if (line_number == 1 && line == kTranscriptHeader) {
      labelled = true;
      continue;
    }
    if (line.empty() || (labelled && line.front() == '#')) {
      continue;
    }
    TranscriptMessage m;
    m.number = t.messages.size() + 1;
    m.line = line_number;
    if (labelled) {
      std::size_t tab = line.find('\t');
      if (tab != std::string_view::npos) {
        m.sender = std::string(line.substr(0, tab));
        line = line.substr(tab + 1);
      }
    }
    m.wire = LineCodec::unescape(line, line_number, t.problems);
    t.messages.push_back(std::move(m));
  }
  return t;
}

std::string write_transcript(const Transcript& t) {
  bool labelled = std::any_of(t.messages.begin(), t.messages.end(),
                              [](const TranscriptMessage& m) { return !m.sender.empty(); });
  std::string out;
  if (labelled) {
    out += kTranscriptHeader;
    out += '\n';
  }
  for (const TranscriptMessage& m : t.messages) {
    if (labelled) {
      out += m.sender;
      out += '\t';
    }
    out += LineCodec::escape(m.wire);
    out += '\n';
  }
  return out;
}

std::vector<ParsedEntry> parse_transcript(const Transcript& t) {
  std::vector<ParsedEntry> out;
  for (ParsedWithRaw& p : parse_all(t)) {
    out.push_back(std::move(p.entry));
  }
  return out;
}

// --- Audit ---

std::size_t AuditReport::forgeable_count() const {
  return static_cast<std::size_t>(
      std::count_if(data_messages.begin(), data_messages.end(),
                    [](const AuditedMessage& m) { return m.forgeable(); }));
}

AuditReport audit(const Transcript& t) {
  AuditReport report;
  report.problems = t.problems;
  std::vector<detail::RecordedData> recorded;  // parallel to report.data_messages
  for (ParsedWithRaw& p : parse_all(t)) {
    const ParsedEntry& e = p.entry;
    if (!e.parsed) {
      report.problems.push_back(who(e.number, e.sender) + ": " + e.parsed.error().message);
      continue;
    }
    if (e.parsed->kind != MessageKind::Data) {
      continue;
    }
    const auto& m = std::get<wire::DataMessage>(*e.parsed->binary);
    AuditedMessage a;
    a.number = e.number;
    a.sender = e.sender;
    a.version = m.header.version;
    a.sender_instance = m.header.sender_tag;
    a.receiver_instance = m.header.receiver_tag;
    a.flags = m.flags;
    a.sender_keyid = m.sender_keyid;
    a.recipient_keyid = m.recipient_keyid;
    a.counter = m.ctr;
    a.mac = m.mac;
    report.data_messages.push_back(a);
    for (std::size_t i = 0; i + wire::kMacBytes <= m.old_mac_keys.size(); i += wire::kMacBytes) {
      RevealedKey k;
      k.number = e.number;
      k.sender = e.sender;
      std::copy_n(m.old_mac_keys.begin() + static_cast<std::ptrdiff_t>(i), wire::kMacBytes,
                  k.key.begin());
      report.revealed_keys.push_back(k);
    }
    recorded.push_back(detail::RecordedData{m, std::move(p.raw)});
  }
  // A key publishes a message when the message's MAC verifies under it. Each key usually
  // authenticates several messages (all of one key pair in one direction).
  for (RevealedKey& k : report.revealed_keys) {
    for (std::size_t i = 0; i < recorded.size(); ++i) {
      if (!detail::mac_verifies(recorded[i], k.key)) {
        continue;
      }
      AuditedMessage& a = report.data_messages[i];
      k.authenticates.push_back(a.number);
      // A key published by the message it authenticates makes that message forgeable too: an
      // otrchat ending a session the peer has already ended publishes its last key that way.
      if (k.number >= a.number) {
        if (!a.published_by || k.number < *a.published_by) {
          a.published_by = k.number;
          a.mac_key = k.key;
        }
      } else {
        report.problems.push_back(who(a.number, a.sender) +
                                  " is MACed with a key already public in " +
                                  who(k.number, k.sender) + ": anyone could have made it");
      }
    }
  }
  return report;
}

// --- DH public keys ---

std::vector<TranscriptDhKey> find_dh_public_keys(const Transcript& t) {
  std::vector<TranscriptDhKey> out;
  auto add = [&](const ParsedEntry& e, std::uint32_t instance, std::uint32_t keyid, Bytes pub,
                 std::string source) {
    for (const TranscriptDhKey& k : out) {
      if (k.sender == e.sender && k.sender_instance == instance && k.keyid == keyid &&
          k.public_key == pub) {
        return;
      }
    }
    out.push_back(
        TranscriptDhKey{e.number, e.sender, instance, keyid, std::move(pub), std::move(source)});
  };
  // D-H Commits waiting for their Reveal Signature, per sender (label and instance tag).
  std::map<std::pair<std::string, std::uint32_t>, wire::DhCommit> commits;
  for (ParsedWithRaw& p : parse_all(t)) {
    const ParsedEntry& e = p.entry;
    if (!e.parsed || !e.parsed->binary) {
      continue;
    }
    const wire::BinaryMessage& b = *e.parsed->binary;
    if (const auto* commit = std::get_if<wire::DhCommit>(&b)) {
      commits[{e.sender, commit->header.sender_tag}] = *commit;
    } else if (const auto* key = std::get_if<wire::DhKey>(&b)) {
      add(e, key->header.sender_tag, 1, key->gy, "D-H Key Message");
    } else if (const auto* reveal = std::get_if<wire::RevealSignature>(&b)) {
      // OTRv3 AKE: the D-H Commit carries AES128-CTR_r(MPI(g^x)) and SHA-256(MPI(g^x)); the
      // Reveal Signature message publishes r, so the commitment opens for anyone.
      auto it = commits.find({e.sender, reveal->header.sender_tag});
      if (it == commits.end() || reveal->revealed_key.size() != 16) {
        continue;
      }
      const Bytes& enc = it->second.encrypted_gx;
      Bytes mpi(enc.size());
      crypto::aes128_ctr(reveal->revealed_key, {}, enc, mpi);
      crypto::Sha256Digest h = crypto::sha256(mpi);
      if (mpi.size() < 4 || !std::equal(h.begin(), h.end(), it->second.hashed_gx.begin(),
                                        it->second.hashed_gx.end())) {
        continue;
      }
      std::size_t len = (std::size_t{mpi[0]} << 24) | (std::size_t{mpi[1]} << 16) |
                        (std::size_t{mpi[2]} << 8) | std::size_t{mpi[3]};
      if (len != mpi.size() - 4) {
        continue;
      }
      Bytes gx(mpi.begin() + 4, mpi.end());
      while (!gx.empty() && gx.front() == 0) {
        gx.erase(gx.begin());
      }
      add(e, reveal->header.sender_tag, 1, std::move(gx), "D-H Commit opened by r");
    } else if (const auto* data = std::get_if<wire::DataMessage>(&b)) {
      // OTRv3 §Data Message: next_dh is "the next D-H public key for the sender", key id
      // sender_keyid + 1.
      add(e, data->header.sender_tag, data->sender_keyid + 1, data->next_dh,
          "next_dh of a Data Message");
    }
  }
  return out;
}

}  // namespace otr::toolkit
