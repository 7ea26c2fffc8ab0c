// Errors and Result<T>: how otrchat reports what went wrong and whose fault it was.
#pragma once

#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

namespace otr {

// ErrorCode classifies a failure caused by input from the peer or from a file. The human-readable
// text lives in Error::message.
enum class ErrorCode {
  Malformed,            // bytes that do not parse as the message they claim to be
  UnsupportedVersion,   // OTR v1, or a version the policy does not allow
  InstanceTagMismatch,  // a v3 message for another instance, or a sender tag below 0x100
  UnknownKeyId,         // a data message for key ids we do not hold
  BadMac,               // a MAC (data message or AKE) that does not verify
  ReplayedCounter,      // a data message counter that does not increase
  ReplayedAke,          // an AKE message that would complete a key exchange already completed
  BadSignature,         // a DSA signature in the AKE that does not verify
  BadValue,             // a group element or exponent out of range, a wrong hash
  TooLarge,             // a size above one of the codec's caps
  NotEncrypted,         // a data message or SMP TLV outside an encrypted session
  Unreadable,           // a data message we cannot decrypt for another reason
  SmpCheated,           // an SMP proof that does not verify
  WrongState,           // a message that the current state does not expect
  KeyFile,              // a key, fingerprint or instance-tag file that cannot be used
  Io,                   // a file that cannot be read or written
};

// error_code_name returns a stable lowercase name for |code|, e.g. "bad_mac" (used in JSON output).
const char* error_code_name(ErrorCode code);

// Error is a failure the caller can report to the person: a code plus a message that names the
// object, the field and the numbers, e.g. "Data message: MAC needs 20 bytes, 7 left".
struct Error {
  ErrorCode code;
  std::string message;

  bool operator==(const Error&) const = default;
};

// UsageError is thrown when the caller (not the peer) misuses the API, e.g. send() on a finished
// conversation. It is a bug in the calling code.
class UsageError : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

// CryptoError is thrown when libgcrypt fails (out of secure memory, a failed primitive). The
// message carries gcry_strerror's text. It is an environment fault, not the peer's.
class CryptoError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Result<T> holds either a T or an Error. It never throws on construction; value() on an error
// throws UsageError (checking first is the caller's job).
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : m_v(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit on purpose
  Result(Error error) : m_v(std::in_place_index<1>, std::move(error)) {}  // NOLINT

  bool ok() const { return m_v.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & {
    check();
    return std::get<0>(m_v);
  }
  const T& value() const& {
    check();
    return std::get<0>(m_v);
  }
  T&& value() && {
    check();
    return std::get<0>(std::move(m_v));
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const {
    if (ok()) {
      throw UsageError("Result::error() called on a success");
    }
    return std::get<1>(m_v);
  }

 private:
  void check() const {
    if (!ok()) {
      throw UsageError("Result::value() called on an error: " + std::get<1>(m_v).message);
    }
  }
  std::variant<T, Error> m_v;
};

// Status is a Result that carries nothing on success.
struct Ok {};
using Status = Result<Ok>;

// make_error builds an Error; a shorthand for the decoders.
inline Error make_error(ErrorCode code, std::string message) {
  return Error{code, std::move(message)};
}

}  // namespace otr
