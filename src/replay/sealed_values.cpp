#include "spillway/replay/sealed_values.hpp"

namespace spillway::replay {

namespace {

// Opens one value in place, or says why it does not open.
std::optional<std::string> open_in_place(std::string& value, const envelope::envelope& e,
                                         std::string_view name, const core::seal_keyring& keys) {
    auto opened = core::open_sealed(keys, e.id, name, value);
    if (auto* bad = std::get_if<core::open_error>(&opened)) {
        return std::move(bad->reason);
    }
    value = std::get<std::string>(std::move(opened));
    return std::nullopt;
}

}  // namespace

std::optional<rejection> open_sealed_values(outgoing_request& req, const envelope::envelope& e,
                                            const core::seal_keyring* keys) {
    static const core::seal_keyring no_keys;
    const core::seal_keyring& ring = keys != nullptr ? *keys : no_keys;
    for (auto& [name, value] : req.headers) {
        if (!core::is_sealed(value)) {
            continue;
        }
        if (auto why = open_in_place(value, e, name, ring)) {
            return rejection{"seal: " + name + ": " + *why};  // a token: checked by the builder
        }
        // It opened, so the proxy sealed it from a header it read; checked all the same, as
        // every value the replay sends is.
        if (!is_field_value(value)) {
            return rejection{"seal: " + name + ": the opened value has a control character"};
        }
    }
    if (e.body_sealed) {
        if (auto why = open_in_place(req.body, e, core::sealed_body_name, ring)) {
            return rejection{"seal: body: " + *why};
        }
    }
    return std::nullopt;
}

}  // namespace spillway::replay
