#pragma once
// What a listener decides about a request from its head alone, before any body byte is read, and
// how a read error is answered: the RFC 9112 rules Beast leaves to its user, without I/O, so
// every listener applies the same ones and tests can go through each rule.

#include "spillway/http/request_parser.hpp"

#include <boost/beast/http/status.hpp>
#include <boost/system/error_code.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace spillway::http_util {

// A request refused: the status and the `error` of its JSON body. The connection closes after
// the answer, since what follows on it can no longer be framed for sure.
struct rejection {
    boost::beast::http::status status;
    std::string_view error;  // a static string, e.g. "malformed_request"

    friend bool operator==(const rejection&, const rejection&) = default;
};

// Checks the parsed head and puts it in the form it is forwarded and captured in:
// - The version: HTTP/1.0 or 1.1 (1.x); any other major version is a 505.
// - Transfer-Encoding: the final coding must be `chunked`, listed once (else 400); any other
//   coding is one this server does not implement (501); none in an HTTP/1.0 request (400);
//   never with Content-Length (400; Beast refuses one order of the two, this the other). A field
//   named like a framing field with '_' for '-' ("Transfer_Encoding") is a 400 too.
// - Host: exactly one in HTTP/1.1, at most one in HTTP/1.0, with a valid value (else 400).
// - The target: origin-form (`/path?query`), `*` for OPTIONS, or absolute-form
//   (`http://host/path`), which becomes origin-form with Host set to its authority (RFC 9112
//   §3.2.2). CONNECT's authority-form is not served (405); anything else is a 400.
// Returns the rejection, or nothing when the request may go on.
std::optional<rejection> check_request_head(request_parser& parser);

// The answer to a failed read, or nothing when there is no one to answer (the client closed,
// went silent or reset). `ec` as the read returned it, deadline already translated.
std::optional<rejection> rejection_for(const boost::system::error_code& ec);

// The JSON body of a rejection: {"error":"<error>"}.
std::string rejection_body(const rejection& r);

}  // namespace spillway::http_util
