// Sealed values (core/seal.hpp): the format, what the seal binds, every way a value can fail to
// open, and the key files.

#include "spillway/core/seal.hpp"

#include "spillway/core/base64.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>

#include <sys/stat.h>
#include <unistd.h>

namespace spillway::core {
namespace {

constexpr std::string_view id = "0b9f6c1e-3a52-4f7e-9d0a-6f1f4b7c2e11";
constexpr std::string_view other_id = "1c0a7d2f-4b63-4a8f-8e1b-7a2a5c8d3f22";

seal_key key_of(char fill) {
    return std::move(*seal_key::from_bytes(std::string(seal_key_size, fill)));
}

seal_keyring ring_of(char fill) {
    return seal_keyring(key_of(fill), {});
}

std::string opened(const seal_keyring& ring, std::string_view env_id, std::string_view name,
                   const std::string& value) {
    auto r = open_sealed(ring, env_id, name, value);
    if (auto* bad = std::get_if<open_error>(&r)) {
        return "error: " + bad->reason;
    }
    return std::get<std::string>(r);
}

bool fails(const seal_keyring& ring, std::string_view env_id, std::string_view name,
           const std::string& value) {
    return std::holds_alternative<open_error>(open_sealed(ring, env_id, name, value));
}

TEST(Seal, RoundTripKeepsTheValueByteExact) {
    const auto ring = ring_of('k');
    const std::string secret = "Bearer eyJhbGciOi.secret\xff\x01 tail";
    const auto sealed = seal(*ring.sealing(), id, "Authorization", secret);
    EXPECT_EQ(sealed.find("eyJhbGciOi"), std::string::npos);
    EXPECT_EQ(opened(ring, id, "Authorization", sealed), secret);
}

TEST(Seal, FormatIsVersionKeyIdAndBase64OfNonceCiphertextTag) {
    const auto k = key_of('k');
    const auto sealed = seal(k, id, "Cookie", "abc");
    EXPECT_TRUE(std::regex_match(sealed, std::regex("sealed:v1:[0-9a-f]{8}:[A-Za-z0-9+/=]+")))
        << sealed;
    EXPECT_EQ(sealed.substr(10, 8), k.id());
    const auto raw = base64_decode(sealed.substr(19));
    ASSERT_TRUE(raw);
    EXPECT_EQ(raw->size(), 12u + 3u + 16u);
    EXPECT_TRUE(is_sealed(sealed));
}

TEST(Seal, KeyIdIsTheFirstEightHexDigitsOfTheKeysSha256) {
    // sha256 of 32 zero bytes: 66687aadf862bd776c8fc18b8e9f8e20089714856ee233b3902a591d0d5f2925
    EXPECT_EQ(key_of('\0').id(), "66687aad");
}

TEST(Seal, NameIsComparedWithoutCaseAndEachSealHasItsOwnNonce) {
    const auto ring = ring_of('k');
    const auto a = seal(*ring.sealing(), id, "Authorization", "same");
    const auto b = seal(*ring.sealing(), id, "authorization", "same");
    EXPECT_NE(a, b) << "a random nonce per value";
    EXPECT_EQ(opened(ring, id, "AUTHORIZATION", a), "same");
    EXPECT_EQ(opened(ring, id, "Authorization", b), "same");
}

TEST(Seal, EmptyAndLargeValuesRoundTrip) {
    const auto ring = ring_of('k');
    EXPECT_EQ(opened(ring, id, "Cookie", seal(*ring.sealing(), id, "Cookie", "")), "");
    std::string large(5 * 1024 * 1024 + 7, '\0');
    for (std::size_t i = 0; i < large.size(); ++i) {
        large[i] = static_cast<char>(i * 131 % 251);
    }
    const auto sealed = seal(*ring.sealing(), id, sealed_body_name, large);
    EXPECT_EQ(opened(ring, id, sealed_body_name, sealed), large);
}

TEST(Seal, WrongKeyIsAnUnknownKeyId) {
    const auto sealed = seal(key_of('a'), id, "Cookie", "s=1");
    const auto result = opened(ring_of('b'), id, "Cookie", sealed);
    EXPECT_EQ(result.rfind("error: unknown key id " + key_of('a').id(), 0), 0u) << result;
    EXPECT_EQ(result.find("s=1"), std::string::npos);
}

TEST(Seal, NoKeysOpenNothing) {
    const auto sealed = seal(key_of('a'), id, "Cookie", "s=1");
    EXPECT_TRUE(fails(seal_keyring{}, id, "Cookie", sealed));
}

TEST(Seal, AnOpeningKeyOpensWhatItSealed) {
    const auto old_sealed = seal(key_of('o'), id, "Cookie", "old");
    std::vector<seal_key> opening;
    opening.push_back(key_of('o'));
    const seal_keyring ring(key_of('n'), std::move(opening));
    EXPECT_EQ(opened(ring, id, "Cookie", old_sealed), "old");
    EXPECT_EQ(opened(ring, id, "Cookie", seal(*ring.sealing(), id, "Cookie", "new")), "new");
    EXPECT_EQ(ring.describe(), key_of('n').id() + " (seal), " + key_of('o').id());
}

TEST(Seal, MovedToAnotherEnvelopeOrHeaderDoesNotOpen) {
    const auto ring = ring_of('k');
    const auto sealed = seal(*ring.sealing(), id, "Authorization", "Bearer t");
    EXPECT_TRUE(fails(ring, other_id, "Authorization", sealed));
    EXPECT_TRUE(fails(ring, id, "Proxy-Authorization", sealed));
    EXPECT_TRUE(fails(ring, id, sealed_body_name, sealed));
    const auto result = opened(ring, other_id, "Authorization", sealed);
    EXPECT_NE(result.find("does not open"), std::string::npos) << result;
}

TEST(Seal, EveryTamperedByteFailsTheTag) {
    const auto ring = ring_of('k');
    const auto sealed = seal(*ring.sealing(), id, "Cookie", "session=abcdef");
    const std::size_t body_start = sealed.rfind(':') + 1;
    auto raw = *base64_decode(sealed.substr(body_start));
    for (std::size_t i = 0; i < raw.size(); ++i) {
        auto bad = raw;
        bad[i] = static_cast<char>(bad[i] ^ 0x01);
        EXPECT_TRUE(fails(ring, id, "Cookie", sealed.substr(0, body_start) + base64_encode(bad)))
            << "byte " << i;
    }
}

TEST(Seal, MalformedValuesAreRefusedWithAReason) {
    const auto ring = ring_of('k');
    const auto sealed = seal(*ring.sealing(), id, "Cookie", "v");
    const std::string kid = ring.sealing()->id();
    const std::vector<std::string> bad = {
        "sealed:v1",
        "sealed:v1:" + kid,
        "sealed:v2:" + kid + ":AAAA",
        "sealed:v1:XYZ:AAAA",
        "sealed:v1:" + kid + ":not base64!",
        "sealed:v1:" + kid + ":AAAA",  // shorter than nonce and tag
        "sealed:v1:" + kid + ":",
        sealed.substr(0, sealed.size() - 4),  // truncated
        sealed + "AAAA",  // extended
        "plain value",
    };
    for (const auto& value : bad) {
        EXPECT_TRUE(fails(ring, id, "Cookie", value)) << value;
    }
}

TEST(Seal, OnlyVersionShapedPrefixesCountAsSealed) {
    EXPECT_TRUE(is_sealed("sealed:v1:abcd0123:AAAA"));
    EXPECT_TRUE(is_sealed("sealed:v12:x"));
    EXPECT_FALSE(is_sealed("sealed: yes"));
    EXPECT_FALSE(is_sealed("sealed:true"));
    EXPECT_FALSE(is_sealed("sealed:v:x"));
    EXPECT_FALSE(is_sealed("Bearer sealed:v1:x"));
}

TEST(Seal, FromBytesWantsExactly32Bytes) {
    EXPECT_FALSE(seal_key::from_bytes(std::string(31, 'k')));
    EXPECT_FALSE(seal_key::from_bytes(std::string(33, 'k')));
    EXPECT_TRUE(seal_key::from_bytes(std::string(32, 'k')));
}

class SealKeyFile : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = std::filesystem::temp_directory_path() /
               ("spillway-seal-" + std::to_string(::getpid()) + "-" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
        std::filesystem::create_directories(dir_);
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }

    std::string write(const std::string& name, const std::string& bytes, mode_t mode) {
        const auto path = (dir_ / name).string();
        std::ofstream(path, std::ios::binary) << bytes;
        ::chmod(path.c_str(), mode);
        return path;
    }

    static std::string error_of(const std::string& path) {
        auto r = load_seal_key(path);
        auto* e = std::get_if<std::string>(&r);
        return e != nullptr ? *e : "(loaded)";
    }

    std::filesystem::path dir_;
};

TEST_F(SealKeyFile, A32ByteFileOfTheOwnerAloneLoads) {
    const auto path = write("key", std::string(32, 'z'), 0600);
    auto r = load_seal_key(path);
    ASSERT_TRUE(std::holds_alternative<seal_key>(r)) << error_of(path);
    EXPECT_EQ(std::get<seal_key>(r).id(), key_of('z').id());
    EXPECT_EQ(error_of(write("key400", std::string(32, 'z'), 0400)), "(loaded)");
}

TEST_F(SealKeyFile, EveryBadFileIsRefusedNamingThePath) {
    const auto missing = (dir_ / "missing").string();
    EXPECT_EQ(error_of(missing), missing + ": cannot open: No such file or directory");
    const auto group = write("group", std::string(32, 'z'), 0640);
    EXPECT_EQ(error_of(group), group +
                                   ": mode 0640 lets group or others at the key; it must be the "
                                   "owner's alone (chmod 600)");
    const auto others = write("others", std::string(32, 'z'), 0604);
    EXPECT_NE(error_of(others).find("mode 0604"), std::string::npos);
    const auto hex = write("hex", std::string(64, 'a') + "\n", 0600);
    EXPECT_EQ(error_of(hex),
              hex + ": holds 65 bytes; a key is exactly 32 random bytes (head -c 32 /dev/urandom)");
    EXPECT_NE(error_of(write("short", std::string(31, 'z'), 0600)).find("holds 31 bytes"),
              std::string::npos);
    EXPECT_NE(error_of(write("empty", "", 0600)).find("holds 0 bytes"), std::string::npos);
    EXPECT_EQ(error_of(dir_.string()), dir_.string() + ": not a regular file");
    if (::geteuid() != 0) {  // root reads whatever the mode says
        const auto unreadable = write("unreadable", std::string(32, 'z'), 0000);
        EXPECT_EQ(error_of(unreadable), unreadable + ": cannot open: Permission denied");
    }
}

}  // namespace
}  // namespace spillway::core
