#pragma once
// What every fuzz target shares: libFuzzer's entry point, a check that ends the run when an
// invariant breaks (a finding, like a crash), and a reader that cuts structured values out of
// the input bytes. Compiled by clang with libFuzzer (SPILLWAY_FUZZ=ON) and by GCC for the corpus
// regression (corpus_driver.cpp), so nothing here may need clang's own fuzzer headers.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace spillway::fuzz {

[[noreturn]] inline void invariant_broken(const char* what, const char* file, int line) {
    std::fprintf(stderr, "fuzz: invariant broken at %s:%d: %s\n", file, line, what);
    std::abort();
}

// Whether SPILLWAY_FUZZ_PRINT is set: the targets then print what they decided about each input
// (what would be forwarded, or the rejection), to read a corpus file's meaning.
inline bool printing() {
    static const bool print = std::getenv("SPILLWAY_FUZZ_PRINT") != nullptr;
    return print;
}

// Structured values from the input: bytes and strings, each string ended by a backslash that is
// not doubled (libFuzzer's FuzzedDataProvider convention, so its mutations stay meaningful).
class input_reader {
public:
    input_reader(const std::uint8_t* data, std::size_t size)
        : data_(reinterpret_cast<const char*>(data), size) {}

    bool empty() const { return data_.empty(); }

    std::uint8_t byte() {
        if (data_.empty()) {
            return 0;
        }
        const auto b = static_cast<std::uint8_t>(data_.front());
        data_.remove_prefix(1);
        return b;
    }

    std::string string(std::size_t max_size) {
        std::string out;
        while (!data_.empty() && out.size() < max_size) {
            const char c = data_.front();
            data_.remove_prefix(1);
            if (c == '\\' && !data_.empty()) {
                const char next = data_.front();
                data_.remove_prefix(1);
                if (next != '\\') {
                    break;
                }
            }
            out.push_back(c);
        }
        return out;
    }

    std::string_view rest() {
        const auto all = data_;
        data_ = {};
        return all;
    }

private:
    std::string_view data_;
};

}  // namespace spillway::fuzz

// Stops the run when `cond` is false: libFuzzer saves the input as a crash.
#define SPILLWAY_FUZZ_CHECK(cond) \
    ((cond) ? void(0) : ::spillway::fuzz::invariant_broken(#cond, __FILE__, __LINE__))
