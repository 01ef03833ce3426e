// Seal keys: reading a key file strictly, the key id, wiping the bytes, and the keyring.

#include "spillway/core/seal.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace spillway::core {

namespace {

// The first 4 bytes of SHA-256 of the key, in hex: what `sha256sum key | cut -c1-8` prints.
std::string key_id(const unsigned char* key) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    if (EVP_Digest(key, seal_key_size, digest, &size, EVP_sha256(), nullptr) != 1 || size < 4) {
        return "";
    }
    char hex[9];
    std::snprintf(hex, sizeof hex, "%02x%02x%02x%02x", digest[0], digest[1], digest[2], digest[3]);
    OPENSSL_cleanse(digest, sizeof digest);
    return hex;
}

// Closes a descriptor however the reading ends.
struct fd_closer {
    int fd;
    ~fd_closer() {
        if (fd >= 0) {
            ::close(fd);
        }
    }
};

std::string mode_text(mode_t mode) {
    char text[8];
    std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode & 07777));
    return text;
}

}  // namespace

std::optional<seal_key> seal_key::from_bytes(std::string_view bytes) {
    if (bytes.size() != seal_key_size) {
        return std::nullopt;
    }
    seal_key k;
    std::memcpy(k.bytes_.data(), bytes.data(), seal_key_size);
    k.id_ = key_id(k.bytes_.data());
    if (k.id_.empty()) {
        return std::nullopt;
    }
    return k;
}

seal_key::seal_key(seal_key&& other) noexcept : bytes_(other.bytes_), id_(std::move(other.id_)) {
    OPENSSL_cleanse(other.bytes_.data(), other.bytes_.size());
}

seal_key& seal_key::operator=(seal_key&& other) noexcept {
    if (this != &other) {
        bytes_ = other.bytes_;
        id_ = std::move(other.id_);
        OPENSSL_cleanse(other.bytes_.data(), other.bytes_.size());
    }
    return *this;
}

seal_key::~seal_key() {
    OPENSSL_cleanse(bytes_.data(), bytes_.size());
}

std::variant<seal_key, std::string> load_seal_key(const std::string& path) {
    // Symbolic links are followed: Kubernetes mounts secrets through them. O_NONBLOCK: a FIFO
    // named by mistake is refused below instead of blocking the start.
    fd_closer file{::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)};
    if (file.fd < 0) {
        return path + ": cannot open: " + std::strerror(errno);
    }
    struct stat st {};
    if (::fstat(file.fd, &st) != 0) {
        return path + ": cannot stat: " + std::strerror(errno);
    }
    if (!S_ISREG(st.st_mode)) {
        return path + ": not a regular file";
    }
    if ((st.st_mode & 077) != 0) {
        return path + ": mode " + mode_text(st.st_mode) +
               " lets group or others at the key; it must be the owner's alone (chmod 600)";
    }
    if (st.st_size != static_cast<off_t>(seal_key_size)) {
        return path + ": holds " + std::to_string(st.st_size) +
               " bytes; a key is exactly 32 random bytes (head -c 32 /dev/urandom)";
    }
    std::array<unsigned char, seal_key_size + 1> buf{};
    std::size_t got = 0;
    while (got < buf.size()) {
        const ssize_t n = ::read(file.fd, buf.data() + got, buf.size() - got);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            OPENSSL_cleanse(buf.data(), buf.size());
            return path + ": cannot read: " + std::strerror(errno);
        }
        if (n == 0) {
            break;
        }
        got += static_cast<std::size_t>(n);
    }
    // The size is checked again on what was read: the file may have changed since fstat.
    auto key = got == seal_key_size
                   ? seal_key::from_bytes({reinterpret_cast<const char*>(buf.data()), got})
                   : std::nullopt;
    OPENSSL_cleanse(buf.data(), buf.size());
    if (!key) {
        return path + ": did not read exactly 32 bytes";
    }
    return std::move(*key);
}

seal_keyring::seal_keyring(std::optional<seal_key> sealing, std::vector<seal_key> opening)
    : sealing_(std::move(sealing)), opening_(std::move(opening)) {}

const seal_key* seal_keyring::find(std::string_view id) const {
    if (sealing_ && sealing_->id() == id) {
        return &*sealing_;
    }
    for (const auto& k : opening_) {
        if (k.id() == id) {
            return &k;
        }
    }
    return nullptr;
}

std::string seal_keyring::describe() const {
    std::string out;
    if (sealing_) {
        out = sealing_->id() + " (seal)";
    }
    for (const auto& k : opening_) {
        out += (out.empty() ? "" : ", ") + k.id();
    }
    return out.empty() ? "none" : out;
}

}  // namespace spillway::core
