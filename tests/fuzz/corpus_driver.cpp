// Runs a fuzz target once on every file of its corpus: the fuzz regression of `make check`, in
// the GCC builds, where there is no libFuzzer. Arguments: files, or directories whose files (all
// of them, recursively) are run in name order. A crash or a broken invariant aborts, and the
// test fails; so does an empty corpus, which would test nothing.

#include "fuzz_support.hpp"

#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

namespace {

std::vector<std::filesystem::path> inputs_of(int argc, char** argv) {
    std::vector<std::filesystem::path> files;
    for (int i = 1; i < argc; ++i) {
        const std::filesystem::path arg(argv[i]);
        if (!std::filesystem::is_directory(arg)) {
            files.push_back(arg);
            continue;
        }
        for (const auto& entry : std::filesystem::recursive_directory_iterator(arg)) {
            if (entry.is_regular_file()) {
                files.push_back(entry.path());
            }
        }
    }
    std::sort(files.begin(), files.end());
    return files;
}

}  // namespace

int main(int argc, char** argv) {
    const auto files = inputs_of(argc, argv);
    if (files.empty()) {
        std::fprintf(stderr, "corpus_driver: no input files\n");
        return 1;
    }
    for (const auto& file : files) {
        std::ifstream in(file, std::ios::binary);
        if (!in) {
            std::fprintf(stderr, "corpus_driver: cannot read %s\n", file.c_str());
            return 1;
        }
        const std::string bytes{std::istreambuf_iterator<char>(in),
                                std::istreambuf_iterator<char>()};
        if (spillway::fuzz::printing()) {
            std::printf("== %s\n", file.c_str());
        }
        LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
    }
    std::printf("corpus_driver: %zu inputs ran\n", files.size());
    return 0;
}
