#include "otr/result.hpp"

namespace otr {

const char* error_code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::Malformed:
      return "malformed";
    case ErrorCode::UnsupportedVersion:
      return "unsupported_version";
    case ErrorCode::InstanceTagMismatch:
      return "instance_tag_mismatch";
    case ErrorCode::UnknownKeyId:
      return "unknown_key_id";
    case ErrorCode::BadMac:
      return "bad_mac";
    case ErrorCode::ReplayedCounter:
      return "replayed_counter";
    case ErrorCode::ReplayedAke:
      return "replayed_ake";
    case ErrorCode::BadSignature:
      return "bad_signature";
    case ErrorCode::BadValue:
      return "bad_value";
    case ErrorCode::TooLarge:
      return "too_large";
    case ErrorCode::NotEncrypted:
      return "not_encrypted";
    case ErrorCode::Unreadable:
      return "unreadable";
    case ErrorCode::SmpCheated:
      return "smp_cheated";
    case ErrorCode::WrongState:
      return "wrong_state";
    case ErrorCode::KeyFile:
      return "key_file";
    case ErrorCode::Io:
      return "io";
  }
  return "unknown";
}

}  // namespace otr
