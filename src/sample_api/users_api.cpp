#include "spillway/sample_api/users_api.hpp"

#include "spillway/core/ids.hpp"

#include <nlohmann/json.hpp>

#include <charconv>
#include <string_view>

namespace spillway::sample_api {

namespace {

constexpr std::string_view users_path = "/api/users";
constexpr std::size_t max_key_bytes = 255;

api_response json_response(unsigned status, std::string body) {
    return {status, std::move(body), {}};
}

api_response error_response(unsigned status, const std::string& error, const std::string& message) {
    return json_response(status, error_body(error, message));
}

api_response method_not_allowed(const std::string& allow) {
    auto res = error_response(405, "method_not_allowed", "allowed: " + allow);
    res.headers.emplace_back("Allow", allow);
    return res;
}

bool is_read(const std::string& method) {
    return method == "GET" || method == "HEAD";
}

// Methods that change state: the ones an Idempotency-Key protects.
bool is_unsafe(const std::string& method) {
    return method == "POST" || method == "PUT" || method == "PATCH" || method == "DELETE";
}

// "/api/users/42" -> 42; nullopt for anything else (signs, leading zeros, overflow, more path).
std::optional<std::uint64_t> parse_id(std::string_view text) {
    if (text.empty() || (text.size() > 1 && text.front() == '0')) {
        return std::nullopt;
    }
    std::uint64_t id = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
    if (ec != std::errc() || end != text.data() + text.size() || id == 0) {
        return std::nullopt;
    }
    return id;
}

}  // namespace

std::optional<std::string> api_response::header(const std::string& name) const {
    for (const auto& [n, v] : headers) {
        if (n == name) {
            return v;
        }
    }
    return std::nullopt;
}

std::string error_body(const std::string& error, const std::string& message) {
    return nlohmann::json{{"error", error}, {"message", message}}.dump();
}

users_api::users_api(std::size_t idempotency_capacity, clock_fn now)
    : keys_(idempotency_capacity), now_(now ? std::move(now) : clock_fn(core::now_rfc3339)) {}

api_stats users_api::stats() const {
    std::lock_guard lock(mutex_);
    auto s = stats_;
    s.users = store_.size();
    return s;
}

api_response users_api::handle(const api_request& req) {
    std::lock_guard lock(mutex_);
    if (!req.idempotency_key || !is_unsafe(req.method)) {
        return route(req);
    }
    const std::string& key = *req.idempotency_key;
    if (key.empty() || key.size() > max_key_bytes) {
        return error_response(400, "invalid_idempotency_key",
                              "Idempotency-Key: expected 1 to 255 bytes");
    }
    const auto fingerprint = idempotency_cache::fingerprint(req.method, req.target, req.body);
    const auto found = keys_.lookup(key, fingerprint);
    if (found.what == idempotency_cache::verdict::repeat) {
        ++stats_.replayed;
        api_response res{found.response->status, found.response->body, {}};
        if (!found.response->location.empty()) {
            res.headers.emplace_back("Location", found.response->location);
        }
        res.headers.emplace_back("Idempotent-Replayed", "true");
        return res;
    }
    if (found.what == idempotency_cache::verdict::mismatch) {
        return error_response(422, "idempotency_key_reused",
                              "this Idempotency-Key was used for a different request");
    }
    auto res = route(req);
    keys_.remember(key, fingerprint, {res.status, res.body, res.header("Location").value_or("")});
    return res;
}

api_response users_api::route(const api_request& req) {
    std::string_view path(req.target);
    path = path.substr(0, path.find('?'));
    if (path == "/api/health") {
        if (!is_read(req.method)) {
            return method_not_allowed("GET, HEAD");
        }
        return json_response(200,
                             nlohmann::json{{"status", "ok"}, {"users", store_.size()}}.dump());
    }
    if (path == users_path) {
        return users_collection(req);
    }
    if (path.starts_with(users_path) && path.size() > users_path.size() &&
        path[users_path.size()] == '/') {
        if (auto id = parse_id(path.substr(users_path.size() + 1))) {
            return one_user(req, *id);
        }
    }
    return error_response(404, "not_found", "no such resource: " + std::string(path));
}

api_response users_api::users_collection(const api_request& req) {
    if (is_read(req.method)) {
        auto all = nlohmann::json::array();
        for (const auto& u : store_.list()) {
            all.push_back(u.to_json());
        }
        return json_response(200, all.dump());
    }
    if (req.method != "POST") {
        return method_not_allowed("GET, HEAD, POST");
    }
    auto parsed = parse_user_input(req.body);
    if (!parsed.input) {
        return error_response(400, "invalid_user", parsed.error);
    }
    const auto created = store_.create(std::move(*parsed.input), now_());
    ++stats_.created;
    auto res = json_response(201, created.to_json().dump());
    res.headers.emplace_back("Location",
                             std::string(users_path) + "/" + std::to_string(created.id));
    return res;
}

api_response users_api::one_user(const api_request& req, std::uint64_t id) {
    const std::string what = "no user with id " + std::to_string(id);
    if (is_read(req.method)) {
        auto found = store_.find(id);
        if (!found) {
            return error_response(404, "not_found", what);
        }
        return json_response(200, found->to_json().dump());
    }
    if (req.method == "PUT") {
        auto parsed = parse_user_input(req.body);
        if (!store_.find(id)) {
            return error_response(404, "not_found", what);
        }
        if (!parsed.input) {
            return error_response(400, "invalid_user", parsed.error);
        }
        return json_response(
            200, store_.replace(id, std::move(*parsed.input), now_())->to_json().dump());
    }
    if (req.method == "DELETE") {
        if (!store_.remove(id)) {
            return error_response(404, "not_found", what);
        }
        return json_response(204, "");
    }
    return method_not_allowed("GET, HEAD, PUT, DELETE");
}

}  // namespace spillway::sample_api
