// The replay's request builder (src/replay/request_builder.cpp) on a parsed envelope: the input
// is an envelope's JSON text, parsed by parse_envelope as the replay consumer does. An envelope
// the builder accepts goes out as append_wire_head writes it, followed by the body; read back by
// the proxy's own request reader (as a backend would read it), it must be exactly one request,
// all of the bytes, with the envelope's method, target and body, exactly one Host, no
// Transfer-Encoding, one X-Spillway-Replay-Attempt with the attempt number, and an
// Idempotency-Key. Nothing in a message may make the replay send anything else.

#include "spillway/envelope/envelope.hpp"
#include "spillway/http/hop_by_hop.hpp"
#include "spillway/http/request_parser.hpp"
#include "spillway/replay/request_builder.hpp"

#include "fuzz_support.hpp"

#include <boost/asio/buffer.hpp>

#include <variant>

namespace {

namespace env = spillway::envelope;
namespace http = boost::beast::http;
using spillway::http_util::iequals;

constexpr unsigned attempt = 3;

unsigned fields_named(const http::fields& fields, std::string_view name) {
    unsigned n = 0;
    for (const auto& f : fields) {
        n += iequals(f.name_string(), name) ? 1 : 0;
    }
    return n;
}

// Parses `wire` as one request; the parser must take every byte and end with the message.
void read_back(std::string_view wire, const spillway::replay::outgoing_request& sent) {
    spillway::http_util::request_parser parser;
    parser.limit_header_bytes(wire.size() + 1);
    parser.body_limit(sent.body.size() + 1);
    parser.eager(true);
    boost::system::error_code ec;
    std::size_t used = 0;
    while (!ec && !parser.is_done() && used < wire.size()) {
        used += parser.put(boost::asio::buffer(wire.substr(used)), ec);
    }
    if (ec && spillway::fuzz::printing()) {
        std::printf("read back: %s\n", ec.message().c_str());
    }
    SPILLWAY_FUZZ_CHECK(!ec && parser.is_done() && used == wire.size());
    const auto& req = parser.get();
    SPILLWAY_FUZZ_CHECK(req.method_string() == sent.method);
    SPILLWAY_FUZZ_CHECK(req.target() == sent.target);
    SPILLWAY_FUZZ_CHECK(req.body() == sent.body);
    SPILLWAY_FUZZ_CHECK(req.version() == 11);
    SPILLWAY_FUZZ_CHECK(parser.host_fields() == 1);
    SPILLWAY_FUZZ_CHECK(parser.transfer_encoding_fields() == 0);
    SPILLWAY_FUZZ_CHECK(fields_named(req, "Content-Length") <= 1);
    SPILLWAY_FUZZ_CHECK(fields_named(req, "X-Spillway-Replay-Attempt") == 1);
    SPILLWAY_FUZZ_CHECK(req["X-Spillway-Replay-Attempt"] == std::to_string(attempt));
    SPILLWAY_FUZZ_CHECK(fields_named(req, "Idempotency-Key") >= 1);
    // Every header sent is one of the envelope's, or one the replay adds.
    SPILLWAY_FUZZ_CHECK(parser.arrival_order().size() ==
                        sent.headers.size() + 1 + fields_named(req, "Content-Length"));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto parsed =
        env::parse_envelope(std::string_view(reinterpret_cast<const char*>(data), size));
    const auto* e = std::get_if<env::envelope>(&parsed);
    if (e == nullptr) {
        return 0;
    }
    const auto built = spillway::replay::build_request(*e, "127.0.0.1:3000");
    if (const auto* refused = std::get_if<spillway::replay::rejection>(&built)) {
        SPILLWAY_FUZZ_CHECK(!refused->reason.empty());
        if (spillway::fuzz::printing()) {
            std::printf("refused: %s\n", refused->reason.c_str());
        }
        return 0;
    }
    const auto& request = std::get<spillway::replay::outgoing_request>(built);
    std::string wire;
    spillway::replay::append_wire_head(wire, request, attempt);
    if (spillway::fuzz::printing()) {
        std::printf("sent:\n%s[%zu body bytes]\n", wire.c_str(), request.body.size());
    }
    wire += request.body;
    read_back(wire, request);
    return 0;
}
