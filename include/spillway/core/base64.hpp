#pragma once
// Base64 with the standard alphabet and padding (RFC 4648 section 4): the envelope's binary
// bodies and the sealed values (core/seal.hpp) are written with it.

#include <optional>
#include <string>
#include <string_view>

namespace spillway::core {

std::string base64_encode(std::string_view bytes);

// Strict: padded, no whitespace, no line breaks; nullopt for anything else.
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace spillway::core
