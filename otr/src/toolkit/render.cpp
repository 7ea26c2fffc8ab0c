// Toolkit: text output in libotr-bin's formats (toolkit/parse.c dump_data/dump_int, the printf
// calls of otr_parse.c, otr_sesskeys.c, otr_mackey.c, otr_readforge.c) and one-line JSON.
#include <cstdio>

#include "otr/base/text.hpp"
#include "toolkit/toolkit_internal.hpp"

namespace otr::toolkit {

namespace {

// printable keeps a text value on one line: newlines and CRs are written as the line framing
// writes them.
std::string printable(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else {
      out += c;
    }
  }
  return out;
}

using Json = JsonObject;

void add_fields(Json& j, const ParsedMessage& m) {
  j.str("kind", message_kind_name(m.kind)).str("title", m.title);
  for (const Field& f : m.fields) {
    switch (f.kind) {
      case FieldKind::Number:
        j.num(json_key(f.name), f.number);
        break;
      case FieldKind::Hex:
      case FieldKind::Text:
        j.str(json_key(f.name), f.text);
        break;
      case FieldKind::HexList:
        j.list(json_key(f.name), f.items);
        break;
    }
  }
}

std::string fields_text(const ParsedMessage& m, std::string_view extra_line) {
  std::string out = m.title + ":\n";
  out += extra_line;
  for (const Field& f : m.fields) {
    if (f.kind == FieldKind::HexList) {
      // otr_parse: "\tRevealed MAC keys:\n" then "\t\tKey N: <hex>\n" per key.
      out += "\t" + f.name + ":\n";
      for (std::size_t i = 0; i < f.items.size(); ++i) {
        out += "\t\tKey " + std::to_string(i + 1) + ": " + f.items[i] + "\n";
      }
    } else {
      out += "\t" + f.name + ": " + (f.kind == FieldKind::Text ? printable(f.text) : f.text) + "\n";
    }
  }
  return out + "\n";
}

std::string numbers_text(const std::vector<std::size_t>& n) {
  std::string out;
  for (std::size_t i = 0; i < n.size(); ++i) {
    out += (i == 0 ? "" : ", ") + std::to_string(n[i]);
  }
  return out;
}

std::string who(std::size_t number, const std::string& sender) {
  return "message " + std::to_string(number) + (sender.empty() ? "" : " (" + sender + ")");
}

}  // namespace

std::string to_text(const ParsedMessage& m) {
  return fields_text(m, "");
}

std::string to_json(const ParsedMessage& m) {
  Json j;
  add_fields(j, m);
  return j.done();
}

std::string to_text(const ParsedEntry& e) {
  if (!e.parsed) {
    // otr_parse prints "Invalid Data Message" and a blank line; we say why as well.
    return e.parsed.error().message + "\n\n";
  }
  std::string extra;
  if (e.reassembled_from) {
    extra = "\tReassembled from: messages " + std::to_string(e.reassembled_from->first) + " to " +
            std::to_string(e.reassembled_from->second) + "\n";
  }
  return fields_text(*e.parsed, extra);
}

std::string to_json(const ParsedEntry& e) {
  Json j;
  j.str("event", e.parsed ? "message" : "invalid").num("number", e.number);
  if (!e.sender.empty()) {
    j.str("sender", e.sender);
  }
  if (!e.parsed) {
    j.str("error", error_code_name(e.parsed.error().code)).str("text", e.parsed.error().message);
    return j.done();
  }
  if (e.reassembled_from) {
    j.numbers("reassembled_from", {e.reassembled_from->first, e.reassembled_from->second});
  }
  add_fields(j, *e.parsed);
  return j.done();
}

std::string to_text(const SessionKeyInfo& k) {
  // otr_sesskeys.c, line for line; then what it does not print.
  std::string out =
      "\nWe are the " + std::string(k.high_end ? "high" : "low") + " end of this key exchange.\n\n";
  out += "Our public key: " + to_hex(k.our_public) + "\n\n";
  out += "Session id: " + to_hex(k.session_id_v1) + "\n\n";
  out += "Sending   AES key: " + to_hex(k.sending_aes_key.view()) + "\n";
  out += "Sending   MAC key: " + to_hex(k.sending_mac_key.view()) + "\n";
  out += "Receiving AES key: " + to_hex(k.receiving_aes_key.view()) + "\n";
  out += "Receiving MAC key: " + to_hex(k.receiving_mac_key.view()) + "\n\n";
  out += "Secure session id (v2/v3 ssid): " + to_hex(k.ssid) + "\n";
  out += "Extra symmetric key: " + to_hex(k.extra_symmetric_key.view()) + "\n\n";
  return out;
}

std::string to_json(const SessionKeyInfo& k) {
  return Json()
      .str("event", "session_keys")
      .str("end", k.high_end ? "high" : "low")
      .str("our_public_key", to_hex(k.our_public))
      .str("session_id_v1", to_hex(k.session_id_v1))
      .str("ssid", to_hex(k.ssid))
      .str("sending_aes_key", to_hex(k.sending_aes_key.view()))
      .str("sending_mac_key", to_hex(k.sending_mac_key.view()))
      .str("receiving_aes_key", to_hex(k.receiving_aes_key.view()))
      .str("receiving_mac_key", to_hex(k.receiving_mac_key.view()))
      .str("extra_symmetric_key", to_hex(k.extra_symmetric_key.view()))
      .done();
}

std::string mac_key_text(ByteView aes_key, ByteView mac_key) {
  return "AES key: " + to_hex(aes_key) + "\nMAC key: " + to_hex(mac_key) + "\n";
}

std::string mac_key_json(ByteView aes_key, ByteView mac_key) {
  return Json()
      .str("event", "mac_key")
      .str("aes_key", to_hex(aes_key))
      .str("mac_key", to_hex(mac_key))
      .done();
}

std::string to_text(const ReadForgeResult& r) {
  std::string out;
  if (r.mac_verified) {
    // otr_readforge: printf("Plaintext: ``%s''\n", plaintext), i.e. up to the first NUL.
    out += "Plaintext: ``" + r.text + "''\n";
  }
  if (r.forged) {
    out += *r.forged + "\n";
  }
  return out;
}

std::string to_json(const ReadForgeResult& r) {
  Json j;
  j.str("event", "readforge").boolean("mac_verified", r.mac_verified);
  if (r.mac_verified) {
    j.str("plaintext", r.text);
    j.boolean("has_nul", r.plaintext.find('\0') != std::string::npos);
    std::vector<std::string> tlvs;
    for (const wire::Tlv& t : r.tlvs) {
      tlvs.push_back(std::to_string(t.type) + ":" + to_hex(t.value));
    }
    j.list("tlvs", tlvs);
  }
  if (r.forged) {
    j.str("forged", *r.forged);
  }
  return j.done();
}

std::string to_text(const AuditReport& r) {
  std::string out;
  for (const AuditedMessage& m : r.data_messages) {
    out += "Data Message, " + who(m.number, m.sender) + ":\n";
    out += "\tSender instance: " + std::to_string(m.sender_instance) + "\n";
    out += "\tReceiver instance: " + std::to_string(m.receiver_instance) + "\n";
    out += "\tSender keyid: " + std::to_string(m.sender_keyid) + "\n";
    out += "\tRcpt keyid: " + std::to_string(m.recipient_keyid) + "\n";
    out += "\tCounter: " + to_hex(m.counter) + "\n";
    out += "\tMAC: " + to_hex(m.mac) + "\n";
    if (m.forgeable()) {
      out += "\tMAC key published by: message " + std::to_string(*m.published_by) + "\n";
      out += "\tMAC key: " + to_hex(*m.mac_key) + "\n";
      out += "\tForgeable: yes (anyone holding this transcript could have made this message)\n";
    } else {
      out += "\tForgeable: no (its MAC key is not published in this transcript)\n";
    }
    out += "\n";
  }
  if (!r.revealed_keys.empty()) {
    out += "Revealed MAC keys:\n";
    for (const RevealedKey& k : r.revealed_keys) {
      out += "\t" + who(k.number, k.sender) + ": " + to_hex(k.key) +
             (k.authenticates.empty()
                  ? " (authenticates no data message in this transcript)\n"
                  : " (authenticates " +
                        std::string(k.authenticates.size() == 1 ? "message " : "messages ") +
                        numbers_text(k.authenticates) + ")\n");
    }
    out += "\n";
  }
  if (!r.problems.empty()) {
    out += "Problems:\n";
    for (const std::string& p : r.problems) {
      out += "\t" + p + "\n";
    }
    out += "\n";
  }
  out += std::to_string(r.data_messages.size()) + " data message" +
         (r.data_messages.size() == 1 ? "" : "s") + ", " + std::to_string(r.forgeable_count()) +
         " forgeable by anyone holding the transcript; " + std::to_string(r.revealed_keys.size()) +
         " MAC key" + (r.revealed_keys.size() == 1 ? "" : "s") + " revealed.\n";
  return out;
}

std::string to_json(const AuditReport& r) {
  std::string out;
  for (const AuditedMessage& m : r.data_messages) {
    Json j;
    j.str("event", "data_message").num("number", m.number);
    if (!m.sender.empty()) {
      j.str("sender", m.sender);
    }
    j.num("version", m.version)
        .num("sender_instance", m.sender_instance)
        .num("receiver_instance", m.receiver_instance)
        .num("flags", m.flags)
        .num("sender_keyid", m.sender_keyid)
        .num("rcpt_keyid", m.recipient_keyid)
        .str("counter", to_hex(m.counter))
        .str("mac", to_hex(m.mac))
        .boolean("forgeable", m.forgeable());
    if (m.forgeable()) {
      j.num("published_by", *m.published_by).str("mac_key", to_hex(*m.mac_key));
    }
    out += j.done() + "\n";
  }
  for (const RevealedKey& k : r.revealed_keys) {
    Json j;
    j.str("event", "revealed_key").num("number", k.number);
    if (!k.sender.empty()) {
      j.str("sender", k.sender);
    }
    out += j.str("key", to_hex(k.key)).numbers("authenticates", k.authenticates).done() + "\n";
  }
  for (const std::string& p : r.problems) {
    out += Json().str("event", "problem").str("text", p).done() + "\n";
  }
  out += Json()
             .str("event", "summary")
             .num("data_messages", r.data_messages.size())
             .num("forgeable", r.forgeable_count())
             .num("revealed_keys", r.revealed_keys.size())
             .done() +
         "\n";
  return out;
}

}  // namespace otr::toolkit
