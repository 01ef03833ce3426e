// BOOST_ASSERT's handler in builds with assertions (Debug, the sanitizer build, the fuzzers):
// a failed assertion prints and aborts, as the default does, except for one that Boost 1.81's
// Beast states wrongly. basic_parser::parse_chunk_header asserts `n >= 5` when it resumes after
// a final chunk `0\r\n` that came first and alone, but 4 bytes ("0\r\n\r") are a legitimate
// state there and the code after the assertion handles them (Beast fixed the assertion in
// boostorg/beast#2861, 2024). Without this, a client trickling an empty chunked body aborts the
// sanitizer build of the proxy; the fuzzer (tests/fuzz, request_reader) found it. Release builds
// define NDEBUG: BOOST_ASSERT is nothing there, and this is never called.

#include <boost/assert.hpp>

#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace boost {

void assertion_failed_msg(char const* expr, char const* msg, char const* function, char const* file,
                          long line) {
    const std::string_view f(file);
    if (std::string_view(expr) == "n >= 5" && f.ends_with("beast/http/impl/basic_parser.ipp")) {
        return;
    }
    std::fprintf(stderr, "%s:%ld: %s: Assertion `%s' failed%s%s\n", file, line, function, expr,
                 msg != nullptr ? ": " : ".", msg != nullptr ? msg : "");
    std::abort();
}

void assertion_failed(char const* expr, char const* function, char const* file, long line) {
    assertion_failed_msg(expr, nullptr, function, file, line);
}

}  // namespace boost
