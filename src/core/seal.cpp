// Sealing and opening values with AES-256-GCM (OpenSSL 3's EVP interface). The value format and
// what is bound are in seal.hpp; docs/sealing.md has the threat model.

#include "spillway/core/seal.hpp"

#include "spillway/core/base64.hpp"
#include "spillway/core/os_random.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <memory>
#include <stdexcept>

namespace spillway::core {

namespace {

constexpr std::string_view prefix = "sealed:";
constexpr std::string_view version = "v1";
constexpr std::size_t nonce_size = 12;
constexpr std::size_t tag_size = 16;
constexpr std::size_t key_id_size = 8;
// EVP takes int lengths: longer inputs go through in pieces of this size.
constexpr std::size_t piece = std::size_t{1} << 30;

struct ctx_deleter {
    void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using cipher_ctx = std::unique_ptr<EVP_CIPHER_CTX, ctx_deleter>;

// The additional data: a label, the envelope id and the lower-cased name, NUL-separated (neither
// an id nor a name can hold a NUL, so no two pairs give the same bytes).
std::string additional_data(std::string_view envelope_id, std::string_view name) {
    std::string aad = "spillway-seal-v1";
    aad += '\0';
    aad += envelope_id;
    aad += '\0';
    for (char c : name) {
        aad += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    }
    return aad;
}

using update_fn = int (*)(EVP_CIPHER_CTX*, unsigned char*, int*, const unsigned char*, int);

// Runs `in` through the cipher into `out` (same length: GCM is a stream mode).
bool update(EVP_CIPHER_CTX* c, update_fn fn, const unsigned char* in, std::size_t size,
            unsigned char* out) {
    while (size > 0) {
        const std::size_t n = std::min(size, piece);
        int written = 0;
        if (fn(c, out, &written, in, static_cast<int>(n)) != 1 || written != static_cast<int>(n)) {
            return false;
        }
        in += n;
        out += n;
        size -= n;
    }
    return true;
}

bool add_aad(EVP_CIPHER_CTX* c, update_fn fn, const std::string& aad) {
    int written = 0;
    return fn(c, nullptr, &written, reinterpret_cast<const unsigned char*>(aad.data()),
              static_cast<int>(aad.size())) == 1;
}

const unsigned char* bytes(std::string_view s) {
    return reinterpret_cast<const unsigned char*>(s.data());
}

bool is_hex_id(std::string_view id) {
    if (id.size() != key_id_size) {
        return false;
    }
    for (char c : id) {
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            return false;
        }
    }
    return true;
}

}  // namespace

std::string seal(const seal_key& key, std::string_view envelope_id, std::string_view name,
                 std::string_view plaintext) {
    std::string sealed(nonce_size + plaintext.size() + tag_size, '\0');
    auto* out = reinterpret_cast<unsigned char*>(sealed.data());
    os_random_bytes(out, nonce_size);
    cipher_ctx c(EVP_CIPHER_CTX_new());
    const std::string aad = additional_data(envelope_id, name);
    int final_size = 0;
    const bool ok =
        c && EVP_EncryptInit_ex(c.get(), EVP_aes_256_gcm(), nullptr, key.data(), out) == 1 &&
        add_aad(c.get(), EVP_EncryptUpdate, aad) &&
        update(c.get(), EVP_EncryptUpdate, bytes(plaintext), plaintext.size(), out + nonce_size) &&
        EVP_EncryptFinal_ex(c.get(), out + nonce_size + plaintext.size(), &final_size) == 1 &&
        final_size == 0 &&
        EVP_CIPHER_CTX_ctrl(c.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(tag_size),
                            out + nonce_size + plaintext.size()) == 1;
    if (!ok) {
        throw std::runtime_error("sealing failed inside OpenSSL");
    }
    std::string text;
    text.reserve(prefix.size() + version.size() + key_id_size + 2 + (sealed.size() + 2) / 3 * 4);
    text.append(prefix).append(version).append(":").append(key.id()).append(":");
    text += base64_encode(sealed);
    return text;
}

bool is_sealed(std::string_view value) {
    // "sealed:v<digits>:": a client's own "sealed: yes" is not taken for one.
    if (!value.starts_with(prefix) || value.size() < prefix.size() + 3 ||
        value[prefix.size()] != 'v') {
        return false;
    }
    std::size_t i = prefix.size() + 1;
    const std::size_t digits_start = i;
    while (i < value.size() && value[i] >= '0' && value[i] <= '9') {
        ++i;
    }
    return i > digits_start && i < value.size() && value[i] == ':';
}

std::variant<std::string, open_error> open_sealed(const seal_keyring& keys,
                                                  std::string_view envelope_id,
                                                  std::string_view name, std::string_view value) {
    if (!is_sealed(value)) {
        return open_error{"not a sealed value"};
    }
    std::string_view rest = value.substr(prefix.size());
    const auto colon = rest.find(':');
    if (colon == std::string_view::npos) {
        return open_error{"malformed sealed value (no version)"};
    }
    if (rest.substr(0, colon) != version) {
        return open_error{"unsupported sealed value version"};
    }
    rest.remove_prefix(colon + 1);
    const auto id_end = rest.find(':');
    const std::string_view id = rest.substr(0, id_end);
    if (id_end == std::string_view::npos || !is_hex_id(id)) {
        return open_error{"malformed sealed value (key id)"};
    }
    const seal_key* key = keys.find(id);
    if (key == nullptr) {
        return open_error{"unknown key id " + std::string(id) +
                          " (not in capture.seal_key_file or capture.open_key_files)"};
    }
    const auto sealed = base64_decode(rest.substr(id_end + 1));
    if (!sealed) {
        return open_error{"malformed sealed value (base64)"};
    }
    if (sealed->size() < nonce_size + tag_size) {
        return open_error{"malformed sealed value (too short)"};
    }
    const std::size_t size = sealed->size() - nonce_size - tag_size;
    const auto* in = bytes(*sealed);
    std::string plain(size, '\0');
    auto* out = reinterpret_cast<unsigned char*>(plain.data());
    cipher_ctx c(EVP_CIPHER_CTX_new());
    const std::string aad = additional_data(envelope_id, name);
    // The tag is compared in constant time by OpenSSL (CRYPTO_memcmp in the GCM final step).
    std::array<unsigned char, tag_size> tag{};
    std::memcpy(tag.data(), in + nonce_size + size, tag_size);
    int final_size = 0;
    const bool ok = c &&
                    EVP_DecryptInit_ex(c.get(), EVP_aes_256_gcm(), nullptr, key->data(), in) == 1 &&
                    add_aad(c.get(), EVP_DecryptUpdate, aad) &&
                    update(c.get(), EVP_DecryptUpdate, in + nonce_size, size, out) &&
                    EVP_CIPHER_CTX_ctrl(c.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(tag_size),
                                        tag.data()) == 1 &&
                    EVP_DecryptFinal_ex(c.get(), out + size, &final_size) == 1 && final_size == 0;
    if (!ok) {
        // Whatever was decrypted before the tag failed is not the value: it is wiped.
        OPENSSL_cleanse(plain.data(), plain.size());
        return open_error{"value does not open with key " + std::string(id) +
                          " (altered, or moved from another request or header)"};
    }
    return plain;
}

}  // namespace spillway::core
