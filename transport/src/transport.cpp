#include "otr/transport/transport.hpp"

namespace otr::transport {

const char* event_kind_name(EventKind kind) {
  switch (kind) {
    case EventKind::Connected:
      return "connected";
    case EventKind::NickChanged:
      return "nick_changed";
    case EventKind::Ignored:
      return "ignored";
    case EventKind::Server:
      return "server";
    case EventKind::Warning:
      return "warning";
    case EventKind::Closed:
      return "closed";
  }
  return "unknown";
}

}  // namespace otr::transport
