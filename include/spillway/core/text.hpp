#pragma once
// Text rules shared by every layer that writes or checks protocol text: JSON string escaping (the
// envelope, every log line, admin answers) and RFC 9110 tokens (methods and header names).

#include <string>
#include <string_view>

namespace spillway::core {

// Appends `text` escaped for the inside of a JSON string: quote, backslash and every control
// byte (as \n, \r, \t or \u00XX). Other bytes are copied as they are.
void append_json_escaped(std::string& out, std::string_view text);

// `text` as a field of a log line, escaped as inside a JSON string (append_json_escaped): a
// value from outside (a method, a uri, a header, a field of a Kafka message) can then neither end
// the line and forge the next one nor drive the terminal of whoever reads the log. Every logged
// field that came from outside goes through this or append_json_escaped, in text and JSON logs.
std::string log_escaped(std::string_view text);

// Whether `s` is an RFC 9110 token: what a method and a header name must be.
bool is_token(std::string_view s);

}  // namespace spillway::core
