#pragma once
// The sample API's users, in memory: ids count up from 1 and are never reused, so a client that
// saw id 3 deleted never finds a different user under it. Not synchronised: users_api owns the
// store and serialises access to it.

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace spillway::sample_api {

struct user_input {
    std::string name;
    std::string email;
};

struct user {
    std::uint64_t id = 0;
    std::string name;
    std::string email;
    std::string created_at;  // RFC 3339
    std::string updated_at;  // RFC 3339

    nlohmann::json to_json() const;
};

class user_store {
public:
    user create(user_input input, const std::string& now);
    std::vector<user> list() const;  // by id
    std::optional<user> find(std::uint64_t id) const;
    std::optional<user> replace(std::uint64_t id, user_input input, const std::string& now);
    bool remove(std::uint64_t id);
    std::size_t size() const { return users_.size(); }

private:
    std::map<std::uint64_t, user> users_;
    std::uint64_t next_id_ = 1;
};

// A user's fields from a JSON body: `name` a non-empty string (at most 200 bytes, surrounding
// spaces trimmed), `email` something that looks like an address (local@domain.tld, no spaces, at
// most 254 characters). Other members are ignored. On error, `error` says which field and why.
struct input_result {
    std::optional<user_input> input;
    std::string error;
};
input_result parse_user_input(const std::string& body);

bool looks_like_email(const std::string& text);

}  // namespace spillway::sample_api
