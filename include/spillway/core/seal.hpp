#pragma once
// Sealed values (docs/sealing.md): what a captured request must keep but a reader of the Kafka
// topic must not see (Authorization, Cookie, optionally the body) is stored as
//
//     sealed:v1:<key id>:<base64 of nonce (12 bytes) | ciphertext | GCM tag (16 bytes)>
//
// AES-256-GCM (OpenSSL 3, EVP) under a 32-byte key, with a random 96-bit nonce per value from
// the OS's CSPRNG. The additional data binds the envelope's id and the header's name
// (lower-cased), so a value copied into another envelope or under another header does not open.
// The key id is the first 8 hex digits of SHA-256 of the key (`sha256sum key | cut -c1-8`): it
// says which key sealed a value without telling anything about the key.
//
// Sans-I/O apart from reading a key file; no exceptions on the data path: opening returns the
// reason it failed, which never contains the value.

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace spillway::core {

inline constexpr std::size_t seal_key_size = 32;
// The name the body is sealed under: not a token, so no header name can ever be the same.
inline constexpr std::string_view sealed_body_name = "(body)";

// One AES-256 key. Its bytes are wiped when it is destroyed (or moved from); it is never copied.
class seal_key {
public:
    // Exactly seal_key_size bytes, else nullopt.
    static std::optional<seal_key> from_bytes(std::string_view bytes);

    seal_key(seal_key&& other) noexcept;
    seal_key& operator=(seal_key&& other) noexcept;
    seal_key(const seal_key&) = delete;
    seal_key& operator=(const seal_key&) = delete;
    ~seal_key();

    const std::string& id() const { return id_; }
    const unsigned char* data() const { return bytes_.data(); }

private:
    seal_key() = default;

    std::array<unsigned char, seal_key_size> bytes_{};
    std::string id_;
};

// Reads a key file: a regular file of exactly 32 bytes that neither group nor others may access
// (mode & 077 == 0). On any other file, the reason (naming the path), e.g.
// "/etc/spillway/seal.key: holds 65 bytes; a key is exactly 32 random bytes".
std::variant<seal_key, std::string> load_seal_key(const std::string& path);

// The key values are sealed with (if any) and every key the replay may open with.
class seal_keyring {
public:
    seal_keyring() = default;
    seal_keyring(std::optional<seal_key> sealing, std::vector<seal_key> opening);

    // The key new values are sealed with; nullptr when there is none (sealing falls back to
    // redaction).
    const seal_key* sealing() const { return sealing_ ? &*sealing_ : nullptr; }
    // The key with this id, the sealing key or one of the opening ones; nullptr when unknown.
    const seal_key* find(std::string_view id) const;
    // Every key id, the sealing key's first ("1a2b3c4d (seal), 5e6f7a8b").
    std::string describe() const;

private:
    std::optional<seal_key> sealing_;
    std::vector<seal_key> opening_;
};

// Seals `plaintext` under `key`, bound to `envelope_id` and `name` (a header name, compared
// lower-cased, or sealed_body_name). Throws std::runtime_error only when OpenSSL itself fails
// (out of memory): a request whose secret cannot be sealed must not be stored in the clear.
std::string seal(const seal_key& key, std::string_view envelope_id, std::string_view name,
                 std::string_view plaintext);

// Whether a stored value claims to be sealed (starts with "sealed:v<digits>:"); it may still not
// open.
bool is_sealed(std::string_view value);

// Why a value did not open: the dead letter's reason after "seal: ". Never holds the value.
struct open_error {
    std::string reason;
};

// Opens a value seal() made, with whichever key of `keys` its key id names.
std::variant<std::string, open_error> open_sealed(const seal_keyring& keys,
                                                  std::string_view envelope_id,
                                                  std::string_view name, std::string_view value);

}  // namespace spillway::core
