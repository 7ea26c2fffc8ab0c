// Conversation: the Socialist Millionaires' Protocol glue. smp.cpp runs the protocol; here its
// TLVs travel in data messages (flag IGNORE_UNREADABLE) and its progress becomes SmpUpdates.
#include "conversation_impl.hpp"

namespace otr {

namespace {

std::string sanitize_question(const std::string& q) {
  // The question is the peer's raw bytes: keep printable text and UTF-8, drop control bytes.
  std::string out;
  for (char c : q) {
    auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u != 0x7f) {
      out.push_back(c);
    } else if (c == '\t' || c == '\n') {
      out.push_back(' ');
    }
  }
  return out;
}

}  // namespace

void Conversation::Impl::on_smp_step(SmpStep step, bool we_initiated, TimePoint now, Actions& out) {
  if (step.send) {
    send_data({}, {*step.send}, wire::kFlagIgnoreUnreadable, now, out);
  }
  SmpUpdate u;
  u.we_initiated = we_initiated;
  u.percent = smp_progress(step.event);
  u.set_trust = step.trust;
  std::visit(
      [&](const auto& ev) {
        using T = std::decay_t<decltype(ev)>;
        if constexpr (std::is_same_v<T, SmpAskForSecret>) {
          u.kind = SmpUpdate::Kind::AskForSecret;
          u.crossed = ev.crossed;
          if (ev.question) {
            u.question = sanitize_question(*ev.question);
            u.text = "The peer wants to verify your identity and asks: " + *u.question;
          } else {
            u.text = "The peer wants to verify your identity with a shared secret";
          }
          if (ev.crossed) {
            u.text = "Both sides started authentication at once; the peer's goes ahead. " + u.text;
          }
        } else if constexpr (std::is_same_v<T, SmpInProgress>) {
          u.kind = SmpUpdate::Kind::InProgress;
          u.crossed = ev.crossed;
          u.text = ev.crossed ? "Both sides started authentication at once; ours goes ahead and "
                                "the peer is asked to answer it"
                              : "Authentication in progress";
        } else if constexpr (std::is_same_v<T, SmpSucceeded>) {
          u.kind = SmpUpdate::Kind::Succeeded;
          u.text = "Authentication succeeded: the peer knows the secret";
        } else if constexpr (std::is_same_v<T, SmpFailed>) {
          u.kind = SmpUpdate::Kind::Failed;
          u.text = "Authentication failed: the secrets do not match";
        } else if constexpr (std::is_same_v<T, SmpCheated>) {
          u.kind = SmpUpdate::Kind::Cheated;
          u.text = "Authentication failed: " + ev.reason.message;
        } else if constexpr (std::is_same_v<T, SmpAborted>) {
          u.kind = SmpUpdate::Kind::Aborted;
          u.text = "The peer aborted the authentication";
        } else {
          u.kind = SmpUpdate::Kind::Error;
          u.text = "Authentication error: " + ev.reason.message;
        }
      },
      step.event);
  if (u.kind == SmpUpdate::Kind::AskForSecret) {
    u.we_initiated = false;  // also when our own request just yielded to this one (crossed)
  }
  out.emplace_back(std::move(u));
}

Actions Conversation::Impl::smp_start(std::string_view secret,
                                      std::optional<std::string_view> question, TimePoint now) {
  return guarded("smp_start", [&](Actions& out) {
    if (m_msg_state != MsgState::Encrypted || !m_smp) {
      note(out, Severity::Warning, NoticeCode::SmpError,
           "Authentication needs a private conversation; start one first");
      return;
    }
    if (question && question->find('\0') != std::string_view::npos) {
      note(out, Severity::Warning, NoticeCode::SmpError,
           "The question must not contain a NUL character");
      return;
    }
    if (m_smp->expecting() != SmpExpect::Expect1) {
      // OTRv3: "If smpstate is not SMPSTATE_EXPECT1: SMP is already underway. ... send a type 6
      // TLV (SMP abort) ... then restart."
      send_data({}, {m_smp->abort()}, wire::kFlagIgnoreUnreadable, now, out);
    }
    wire::Tlv t = m_smp->start(as_bytes(secret), question);
    send_data({}, {t}, wire::kFlagIgnoreUnreadable, now, out);
    SmpUpdate u;
    u.kind = SmpUpdate::Kind::InProgress;
    u.percent = 0;
    u.we_initiated = true;
    u.text = "Authentication started; waiting for the peer";
    out.emplace_back(std::move(u));
  });
}

Actions Conversation::Impl::smp_respond(std::string_view secret, TimePoint now) {
  return guarded("smp_respond", [&](Actions& out) {
    if (m_msg_state != MsgState::Encrypted || !m_smp || !m_smp->awaiting_secret()) {
      note(out, Severity::Warning, NoticeCode::SmpError,
           "No authentication request is waiting for an answer");
      return;
    }
    wire::Tlv t = m_smp->respond(as_bytes(secret));
    send_data({}, {t}, wire::kFlagIgnoreUnreadable, now, out);
  });
}

Actions Conversation::Impl::smp_abort(TimePoint now) {
  return guarded("smp_abort", [&](Actions& out) {
    if (m_msg_state != MsgState::Encrypted || !m_smp) {
      note(out, Severity::Info, NoticeCode::SmpError, "No authentication to abort");
      return;
    }
    send_data({}, {m_smp->abort()}, wire::kFlagIgnoreUnreadable, now, out);
    SmpUpdate u;
    u.kind = SmpUpdate::Kind::Aborted;
    u.text = "Authentication aborted";
    out.emplace_back(std::move(u));
  });
}

}  // namespace otr
