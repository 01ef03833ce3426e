// The client request reader, the way the proxy's session reads a connection
// (src/proxy/session.cpp, read_request): http_util::request_parser with the proxy's limits, Beast's
// read of the head, check_request_head, then the body; pipelined requests one after the other
// while the connection stays open. An accepted request goes through the proxy's own
// build_upstream_request_head (src/proxy/message_heads.cpp), as the forwarder sends it.
//
// Out: for each request, what would be forwarded, or the rejection, or a close without answer.
// The invariants that catch smuggling and desync:
// - The same bytes cut into other TCP segments (one byte at a time for a prefix, then segments
//   whose size the input picks; two bytes at a time) give the same requests (check_same).
// - What would be forwarded, read back by the same reader, is one request, all of it, with the
//   same method, target and body, exactly one Host, no Transfer-Encoding and no trailer; every
//   field in it is either one the client sent in the head or one the proxy adds.

#include "spillway/http/request_parser.hpp"
#include "spillway/http/request_reader.hpp"
#include "spillway/http/request_rules.hpp"
#include "spillway/proxy/message_heads.hpp"
#include "spillway/proxy/trace_context.hpp"

#include "fuzz_support.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/read.hpp>

#include <utility>
#include <vector>

namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using spillway::http_util::iequals;
using spillway::http_util::request_parser;

// The proxy's limits: limits.max_header_bytes of config/spillway.json, and a 1 MiB body.
constexpr std::size_t max_header_bytes = 16384;
constexpr std::uint64_t max_body_bytes = 1024 * 1024;
constexpr int max_requests = 8;  // per connection, pipelined
constexpr std::size_t byte_prefix = 64;  // delivered one byte per read

// A connection's bytes as TCP may deliver them: one byte per read for a prefix, then segments.
class segmented_stream {
public:
    segmented_stream(std::string_view bytes, std::size_t one_byte_prefix, std::size_t segment)
        : bytes_(bytes), one_byte_prefix_(one_byte_prefix), segment_(segment) {}

    template <class MutableBuffers>
    std::size_t read_some(const MutableBuffers& buffers, boost::system::error_code& ec) {
        ec = {};
        if (pos_ == bytes_.size()) {
            ec = net::error::eof;
            return 0;
        }
        const std::size_t want = pos_ < one_byte_prefix_ ? 1 : segment_;
        const auto n = net::buffer_copy(
            buffers, net::buffer(bytes_.data() + pos_, std::min(want, bytes_.size() - pos_)));
        pos_ += n;
        return n;
    }

    template <class MutableBuffers>
    std::size_t read_some(const MutableBuffers& buffers) {
        boost::system::error_code ec;
        const auto n = read_some(buffers, ec);
        if (ec) {
            throw boost::system::system_error(ec);
        }
        return n;
    }

    bool at_end() const { return pos_ == bytes_.size(); }

private:
    std::string_view bytes_;
    std::size_t one_byte_prefix_;
    std::size_t segment_;
    std::size_t pos_ = 0;
};

using field_list = std::vector<std::pair<std::string, std::string>>;

struct outcome {
    enum class kind { forwarded, rejected, closed };
    kind what = kind::closed;
    unsigned status = 0;  // rejected
    std::string error;  // rejected
    std::string method, target, body;  // forwarded
    unsigned version = 0;
    field_list fields;  // forwarded: arrival order
    bool keep_alive = false;

    friend bool operator==(const outcome&, const outcome&) = default;
};

field_list fields_of(const request_parser& parser) {
    field_list out;
    for (const auto* f : parser.arrival_order()) {
        out.emplace_back(f->name_string(), f->value());
    }
    return out;
}

outcome rejected(const spillway::http_util::rejection& r) {
    outcome out;
    out.what = outcome::kind::rejected;
    out.status = static_cast<unsigned>(r.status);
    out.error = r.error;
    return out;
}

// One request off the connection, as session.cpp's read_request reads it (without a body budget:
// a lease with no budget always holds, and 100-continue only writes).
outcome read_one(segmented_stream& stream, beast::flat_buffer& buffer, request_parser& parser) {
    parser.limit_header_bytes(max_header_bytes);
    parser.body_limit(max_body_bytes);
    boost::system::error_code ec;
    http::read_header(stream, buffer, parser, ec);
    if (!ec) {
        if (auto refused = spillway::http_util::check_request_head(parser)) {
            return rejected(*refused);
        }
        const auto head_fields = parser.arrival_order().size();
        while (!parser.is_done()) {
            http::read_some(stream, buffer, parser, ec);
            if (ec) {
                break;
            }
        }
        // Trailers are counted and dropped: the fields are still those of the head.
        SPILLWAY_FUZZ_CHECK(ec || parser.arrival_order().size() == head_fields);
    }
    if (ec) {
        if (auto refused = spillway::http_util::rejection_for(ec)) {
            return rejected(*refused);
        }
        return outcome{};
    }
    const auto& req = parser.get();
    outcome out;
    out.what = outcome::kind::forwarded;
    out.method = req.method_string();
    out.target = req.target();
    out.body = req.body();
    out.version = req.version();
    out.fields = fields_of(parser);
    out.keep_alive = req.keep_alive();
    return out;
}

// Every request of one connection, in order, until one closes it. `forwarded(req, parser)` is
// called for each accepted request.
template <class OnForwarded>
std::vector<outcome> read_connection(std::string_view bytes, std::size_t one_byte_prefix,
                                     std::size_t segment, OnForwarded on_forwarded) {
    segmented_stream stream(bytes, one_byte_prefix, segment);
    auto buffer = spillway::http_util::read_buffer(max_header_bytes);
    std::vector<outcome> outcomes;
    for (int i = 0; i < max_requests; ++i) {
        if (buffer.size() == 0 && stream.at_end()) {
            break;
        }
        request_parser parser;
        outcomes.push_back(read_one(stream, buffer, parser));
        if (outcomes.back().what != outcome::kind::forwarded) {
            break;
        }
        on_forwarded(parser);
        if (!outcomes.back().keep_alive) {
            break;
        }
    }
    return outcomes;
}

// The proxy adds these to what it forwards (message_heads.cpp).
bool added_by_proxy(std::string_view name) {
    for (const auto added : {"X-Forwarded-Host", "X-Forwarded-For", "X-Forwarded-Proto",
                             "X-Request-Id", "traceparent", "Content-Length", "Host"}) {
        if (iequals(name, added)) {
            return true;
        }
    }
    return false;
}

bool has_field(const field_list& fields, std::string_view name, std::string_view value) {
    for (const auto& [n, v] : fields) {
        if (iequals(n, name) && v == value) {
            return true;
        }
    }
    return false;
}

// What the forwarder would send for `parser`'s request, read back as a backend would.
void check_forwarded(const request_parser& parser) {
    const auto& req = parser.get();
    auto trace = spillway::proxy::trace_context::from_request(req);
    trace.generate_if_absent();
    std::string wire;
    spillway::proxy::build_upstream_request_head(
        wire, req,
        spillway::proxy::forward_context{"203.0.113.7", "00000000-0000-4000-8000-000000000000",
                                         "127.0.0.1:3000", trace.generated_header()});
    const std::size_t head_size = wire.size();
    wire += req.body();
    if (spillway::fuzz::printing()) {
        std::printf("forwarded:\n%s[%zu body bytes]\n", wire.substr(0, head_size).c_str(),
                    req.body().size());
    }

    segmented_stream stream(wire, 0, wire.size());
    beast::flat_buffer buffer;
    request_parser again;
    again.limit_header_bytes(head_size + 1);
    again.body_limit(req.body().size() + 1);
    boost::system::error_code ec;
    http::read_header(stream, buffer, again, ec);
    SPILLWAY_FUZZ_CHECK(!ec);
    SPILLWAY_FUZZ_CHECK(!spillway::http_util::check_request_head(again));
    while (!ec && !again.is_done()) {
        http::read_some(stream, buffer, again, ec);
    }
    SPILLWAY_FUZZ_CHECK(!ec && again.is_done());
    SPILLWAY_FUZZ_CHECK(stream.at_end() && buffer.size() == 0);  // nothing after it
    const auto& back = again.get();
    SPILLWAY_FUZZ_CHECK(back.method_string() == req.method_string());
    SPILLWAY_FUZZ_CHECK(back.target() == req.target());
    SPILLWAY_FUZZ_CHECK(back.body() == req.body());
    SPILLWAY_FUZZ_CHECK(back.version() == 11);
    SPILLWAY_FUZZ_CHECK(again.host_fields() == 1);
    SPILLWAY_FUZZ_CHECK(again.transfer_encoding_fields() == 0);
    SPILLWAY_FUZZ_CHECK(again.trailer_fields() == 0);
    const auto sent = fields_of(parser);
    for (const auto& [name, value] : fields_of(again)) {
        SPILLWAY_FUZZ_CHECK(added_by_proxy(name) || has_field(sent, name, value));
    }
}

void print(const std::vector<outcome>& outcomes, std::FILE* to) {
    for (const auto& o : outcomes) {
        if (o.what == outcome::kind::rejected) {
            std::fprintf(to, "rejected: %u %s\n", o.status, o.error.c_str());
        } else if (o.what == outcome::kind::closed) {
            std::fprintf(to, "closed without an answer\n");
        } else if (to == stderr) {
            std::fprintf(to, "forwarded: %s %s, %zu fields, %zu body bytes\n", o.method.c_str(),
                         o.target.c_str(), o.fields.size(), o.body.size());
        }
    }
}

// The same connection cut into other segments must be read into the same requests, and end the
// same way: forwarded, or not. How a refused head is refused may depend on the segments: Beast
// parses a head that arrived whole at once (a bare LF there is a 400), but waits for the blank
// line of a head that arrives in pieces (the same bare LF never ends it: the connection is closed
// when the header timeout passes), so the last outcome is compared only as "not forwarded".
bool same_requests(const std::vector<outcome>& a, const std::vector<outcome>& b) {
    if (a.size() != b.size()) {
        return false;
    }
    for (std::size_t i = 0; i < a.size(); ++i) {
        const bool a_forwarded = a[i].what == outcome::kind::forwarded;
        const bool b_forwarded = b[i].what == outcome::kind::forwarded;
        if (a_forwarded != b_forwarded || (a_forwarded && !(a[i] == b[i]))) {
            return false;
        }
    }
    return true;
}

void check_same(const std::vector<outcome>& whole, const std::vector<outcome>& split,
                std::size_t segment) {
    if (!same_requests(whole, split)) {
        std::fprintf(stderr, "fuzz: read whole:\n");
        print(whole, stderr);
        std::fprintf(stderr, "fuzz: read in segments of %zu bytes:\n", segment);
        print(split, stderr);
    }
    SPILLWAY_FUZZ_CHECK(same_requests(whole, split));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    const auto whole = read_connection(bytes, 0, 64 * 1024, check_forwarded);
    if (spillway::fuzz::printing()) {
        print(whole, stdout);
    }
    const auto ignore = [](const request_parser&) {};
    const std::size_t segment = size == 0 ? 1 : 1 + data[size / 2] % 61;
    check_same(whole, read_connection(bytes, byte_prefix, segment, ignore), segment);
    check_same(whole, read_connection(bytes, 0, 2, ignore), 2);
    return 0;
}
