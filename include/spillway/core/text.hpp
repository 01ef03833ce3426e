#pragma once
// Text rules shared by every layer that writes or checks protocol text: JSON string escaping (the
// envelope, JSON log lines, admin answers) and RFC 9110 tokens (methods and header names).

#include <string>
#include <string_view>

namespace spillway::core {

// Appends `text` escaped for the inside of a JSON string: quote, backslash and every control
// byte (as \n, \r, \t or \u00XX). Other bytes are copied as they are.
void append_json_escaped(std::string& out, std::string_view text);

// Whether `s` is an RFC 9110 token: what a method and a header name must be.
bool is_token(std::string_view s);

}  // namespace spillway::core
