#include "support/schema.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <sys/wait.h>
#include <unistd.h>

namespace spillway::test {

namespace {

// Prints one line per document: "ok" or "invalid: <first error> at <path>". Any failure to run
// (import error, bad schema) exits non-zero before printing verdicts.
constexpr const char* validator_script = R"py(
import json, sys
import jsonschema
with open(sys.argv[1], encoding="utf-8") as f:
    schema = json.load(f)
cls = jsonschema.validators.validator_for(schema)
cls.check_schema(schema)
validator = cls(schema)
with open(sys.argv[2], encoding="utf-8") as f:
    for line in f:
        try:
            doc = json.loads(line)
        except ValueError as e:
            print("invalid: not JSON: " + str(e).replace("\n", " "))
            continue
        errors = sorted(validator.iter_errors(doc), key=lambda e: list(map(str, e.path)))
        if not errors:
            print("ok")
        else:
            e = errors[0]
            where = "/".join(map(str, e.path)) or "(root)"
            print("invalid: " + e.message.replace("\n", " ")[:300] + " at " + where)
)py";

struct temp_dir {
    std::filesystem::path path;

    temp_dir() {
        std::string pattern = (std::filesystem::temp_directory_path() / "spillway-schema-XXXXXX");
        if (::mkdtemp(pattern.data()) != nullptr) {
            path = pattern;
        }
    }
    ~temp_dir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
};

std::vector<schema_verdict> all_invalid(std::size_t n, const std::string& why) {
    return std::vector<schema_verdict>(n, schema_verdict{false, why});
}

}  // namespace

std::string envelope_schema_path() {
    return std::string(SPILLWAY_SOURCE_DIR) + "/docs/envelope.schema.json";
}

std::vector<schema_verdict> validate_json(const std::string& schema_path,
                                          const std::vector<std::string>& documents) {
    temp_dir dir;
    if (dir.path.empty()) {
        return all_invalid(documents.size(), "cannot create a temporary directory");
    }
    const auto script = dir.path / "validate.py";
    const auto lines = dir.path / "documents.jsonl";
    std::ofstream(script) << validator_script;
    {
        std::ofstream out(lines, std::ios::binary);
        for (std::string doc : documents) {
            // A raw newline can only be whitespace between JSON tokens, so a space is equivalent.
            std::replace(doc.begin(), doc.end(), '\n', ' ');
            out << doc << '\n';
        }
    }
    const std::string command =
        "python3 '" + script.string() + "' '" + schema_path + "' '" + lines.string() + "' 2>&1";
    FILE* pipe = ::popen(command.c_str(), "r");
    if (pipe == nullptr) {
        return all_invalid(documents.size(), "cannot run python3");
    }
    std::string output;
    char buf[4096];
    while (std::size_t n = std::fread(buf, 1, sizeof buf, pipe)) {
        output.append(buf, n);
    }
    const int status = ::pclose(pipe);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        return all_invalid(documents.size(), "validator failed: " + output);
    }
    std::vector<schema_verdict> verdicts;
    std::istringstream in(output);
    for (std::string line; std::getline(in, line);) {
        verdicts.push_back({line == "ok", line});
    }
    if (verdicts.size() != documents.size()) {
        return all_invalid(documents.size(), "validator gave a verdict count mismatch: " + output);
    }
    return verdicts;
}

schema_verdict validate_json(const std::string& schema_path, const std::string& document) {
    return validate_json(schema_path, std::vector<std::string>{document}).front();
}

}  // namespace spillway::test
