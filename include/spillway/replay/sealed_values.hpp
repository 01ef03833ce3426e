#pragma once
// The replay's one step between rebuilding a request and sending it: sealed values
// (core/seal.hpp, docs/sealing.md) are opened, so the backend gets the original Authorization,
// Cookie or body byte for byte. The envelope itself stays sealed: what is dead-lettered is the
// envelope as it was read, never an opened copy.
//
// Opened: every header value that is a sealed value ("sealed:v<n>:..."), whatever the header's
// name (the replay's capture.seal_headers may differ from the proxy's that sealed it), and the
// body when its encoding is "sealed". A value that does not open (unknown key id, failed tag,
// malformed) is a rejection "seal: <name>: <why>", which never contains the value.

#include "spillway/core/seal.hpp"
#include "spillway/envelope/envelope.hpp"
#include "spillway/replay/request_builder.hpp"

#include <optional>

namespace spillway::replay {

// Opens `req`'s sealed values in place with `keys` (nullptr: no keys, nothing opens), bound to
// `e`'s id. On a rejection `req` is left half-opened and must not be sent.
std::optional<rejection> open_sealed_values(outgoing_request& req, const envelope::envelope& e,
                                            const core::seal_keyring* keys);

}  // namespace spillway::replay
