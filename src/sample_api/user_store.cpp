#include "spillway/sample_api/user_store.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>

namespace spillway::sample_api {

namespace {

constexpr std::size_t max_name_chars = 200;
constexpr std::size_t max_email_chars = 254;

bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

std::string trimmed(const std::string& text) {
    auto first = std::find_if_not(text.begin(), text.end(), is_space);
    auto last = std::find_if_not(text.rbegin(), text.rend(), is_space).base();
    return first < last ? std::string(first, last) : std::string();
}

}  // namespace

nlohmann::json user::to_json() const {
    return {{"id", id},
            {"name", name},
            {"email", email},
            {"created_at", created_at},
            {"updated_at", updated_at}};
}

user user_store::create(user_input input, const std::string& now) {
    user u{next_id_++, std::move(input.name), std::move(input.email), now, now};
    users_.emplace(u.id, u);
    return u;
}

std::vector<user> user_store::list() const {
    std::vector<user> all;
    all.reserve(users_.size());
    for (const auto& [id, u] : users_) {
        all.push_back(u);
    }
    return all;
}

std::optional<user> user_store::find(std::uint64_t id) const {
    auto it = users_.find(id);
    if (it == users_.end()) {
        return std::nullopt;
    }
    return it->second;
}

std::optional<user> user_store::replace(std::uint64_t id, user_input input,
                                        const std::string& now) {
    auto it = users_.find(id);
    if (it == users_.end()) {
        return std::nullopt;
    }
    it->second.name = std::move(input.name);
    it->second.email = std::move(input.email);
    it->second.updated_at = now;
    return it->second;
}

bool user_store::remove(std::uint64_t id) {
    return users_.erase(id) == 1;
}

bool looks_like_email(const std::string& text) {
    if (text.empty() || text.size() > max_email_chars) {
        return false;
    }
    if (std::any_of(text.begin(), text.end(), [](char c) {
            return is_space(c) || static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
        })) {
        return false;
    }
    const auto at = text.find('@');
    if (at == 0 || at == std::string::npos || text.find('@', at + 1) != std::string::npos) {
        return false;
    }
    const std::string domain = text.substr(at + 1);
    const auto dot = domain.rfind('.');
    // A dot inside the domain, not at either end, and no empty label.
    return dot != std::string::npos && dot != 0 && dot + 1 < domain.size() &&
           domain.front() != '.' && domain.find("..") == std::string::npos;
}

input_result parse_user_input(const std::string& body) {
    auto doc = nlohmann::json::parse(body, nullptr, false);
    if (doc.is_discarded()) {
        return {std::nullopt, "body: expected a JSON object"};
    }
    if (!doc.is_object()) {
        return {std::nullopt, "body: expected a JSON object"};
    }
    auto name = doc.find("name");
    if (name == doc.end() || !name->is_string()) {
        return {std::nullopt, "name: expected a string"};
    }
    std::string name_text = trimmed(name->get<std::string>());
    if (name_text.empty()) {
        return {std::nullopt, "name: must not be empty"};
    }
    if (name_text.size() > max_name_chars) {
        return {std::nullopt, "name: at most 200 bytes"};
    }
    auto email = doc.find("email");
    if (email == doc.end() || !email->is_string()) {
        return {std::nullopt, "email: expected a string"};
    }
    std::string email_text = trimmed(email->get<std::string>());
    if (!looks_like_email(email_text)) {
        return {std::nullopt, "email: expected an address like name@example.com"};
    }
    return {user_input{std::move(name_text), std::move(email_text)}, {}};
}

}  // namespace spillway::sample_api
