#pragma once
// JSON Schema validation for tests, with a real, independent validator: python3-jsonschema
// (Debian package, in scripts/install-deps.sh). One python process checks a whole batch.

#include <string>
#include <vector>

namespace spillway::test {

struct schema_verdict {
    bool valid = false;
    std::string message;  // the validator's first error, or why validation could not run
};

// docs/envelope.schema.json in the source tree.
std::string envelope_schema_path();

// Validates each document (JSON text) against the schema file; one verdict per document, in
// order. When python3 or jsonschema is missing, or the schema itself is invalid, every verdict
// is invalid with that reason, so a test cannot pass by accident.
std::vector<schema_verdict> validate_json(const std::string& schema_path,
                                          const std::vector<std::string>& documents);

schema_verdict validate_json(const std::string& schema_path, const std::string& document);

}  // namespace spillway::test
