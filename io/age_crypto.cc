#include "io/age_crypto.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>

#include <cstring>
#include <vector>

namespace gb::age {
namespace {

struct PkeyDeleter {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyDeleter>;

const unsigned char* Bytes(std::string_view data) {
  return reinterpret_cast<const unsigned char*>(data.data());
}

}  // namespace

std::string Base64Encode(std::string_view data) {
  std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), Bytes(data),
                          static_cast<int>(data.size()));
  out.resize(static_cast<size_t>(n));
  while (!out.empty() && out.back() == '=') out.pop_back();
  return out;
}

bool Base64Decode(std::string_view text, std::string* out) {
  static const char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  if (text.size() % 4 == 1) return false;
  for (char c : text) {
    if (c == '\0' || std::strchr(kAlphabet, c) == nullptr) return false;
  }
  std::string padded(text);
  padded.append((4 - text.size() % 4) % 4, '=');
  std::string decoded(padded.size() / 4 * 3 + 1, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(decoded.data()), Bytes(padded),
                          static_cast<int>(padded.size()));
  if (n < 0) return false;
  decoded.resize(text.size() * 3 / 4);  // EVP_DecodeBlock counts padding as zero bytes
  // Canonical means the only encoding of these bytes: re-encoding must give the input back,
  // which rejects non-zero trailing bits.
  if (Base64Encode(decoded) != text) return false;
  *out = std::move(decoded);
  return true;
}

std::string RandomBytes(size_t size) {
  std::string out(size, '\0');
  // RAND_bytes fails only if the CSPRNG cannot be seeded; continuing would be unsafe.
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(size)) != 1) {
    abort();
  }
  return out;
}

Result<std::string> Hkdf(std::string_view ikm, std::string_view salt, std::string_view info) {
  EVP_KDF* kdf = EVP_KDF_fetch(nullptr, "HKDF", nullptr);
  EVP_KDF_CTX* context = kdf ? EVP_KDF_CTX_new(kdf) : nullptr;
  EVP_KDF_free(kdf);
  if (context == nullptr) return Status::Failed("OpenSSL has no HKDF");
  OSSL_PARAM params[5];
  OSSL_PARAM* next = params;
  *next++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, const_cast<char*>("SHA256"), 0);
  *next++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, const_cast<char*>(ikm.data()),
                                              ikm.size());
  // OpenSSL 3.0 fails the derivation when the salt pointer is null; an empty string is the
  // RFC 5869 default salt.
  *next++ = OSSL_PARAM_construct_octet_string(
      OSSL_KDF_PARAM_SALT, const_cast<char*>(salt.empty() ? "" : salt.data()), salt.size());
  *next++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, const_cast<char*>(info.data()),
                                              info.size());
  *next = OSSL_PARAM_construct_end();
  std::string out(kKeySize, '\0');
  int ok =
      EVP_KDF_derive(context, reinterpret_cast<unsigned char*>(out.data()), out.size(), params);
  EVP_KDF_CTX_free(context);
  if (ok != 1) return Status::Failed("HKDF-SHA-256 failed in OpenSSL");
  return out;
}

Result<std::string> HmacSha256(std::string_view key, std::string_view data) {
  std::string out(32, '\0');
  unsigned int size = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), Bytes(data), data.size(),
           reinterpret_cast<unsigned char*>(out.data()), &size) == nullptr ||
      size != 32) {
    return Status::Failed("HMAC-SHA-256 failed in OpenSSL");
  }
  return out;
}

Result<std::string> X25519Public(std::string_view secret) {
  Pkey key(EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr, Bytes(secret), secret.size()));
  std::string out(kKeySize, '\0');
  size_t size = out.size();
  if (!key ||
      EVP_PKEY_get_raw_public_key(key.get(), reinterpret_cast<unsigned char*>(out.data()), &size) !=
          1 ||
      size != kKeySize) {
    return Status::Failed("not a valid X25519 secret key");
  }
  return out;
}

Result<std::string> X25519Shared(std::string_view secret, std::string_view peer) {
  Pkey own(EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr, Bytes(secret), secret.size()));
  Pkey other(EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nullptr, Bytes(peer), peer.size()));
  if (!own || !other) return Status::Failed("not a valid X25519 key");
  EVP_PKEY_CTX* context = EVP_PKEY_CTX_new(own.get(), nullptr);
  std::string out(kKeySize, '\0');
  size_t size = out.size();
  // OpenSSL refuses a low-order peer (all-zero shared secret), which age requires to abort.
  bool ok = context && EVP_PKEY_derive_init(context) == 1 &&
            EVP_PKEY_derive_set_peer(context, other.get()) == 1 &&
            EVP_PKEY_derive(context, reinterpret_cast<unsigned char*>(out.data()), &size) == 1 &&
            size == kKeySize;
  EVP_PKEY_CTX_free(context);
  if (!ok) return Status::Failed("X25519 key agreement failed (low-order share)");
  return out;
}

Result<std::string> Scrypt(std::string_view passphrase, std::string_view salt, int log_n) {
  const uint64_t n = uint64_t{1} << log_n;
  // scrypt needs 128 * r * N bytes; OpenSSL's default cap (32 MiB) refuses log_n >= 16.
  const uint64_t max_memory = 128 * 8 * n + (16 << 20);
  std::string out(kKeySize, '\0');
  if (EVP_PBE_scrypt(passphrase.data(), passphrase.size(), Bytes(salt), salt.size(), n, 8, 1,
                     max_memory, reinterpret_cast<unsigned char*>(out.data()), out.size()) != 1) {
    return Status::Failed("scrypt with work factor " + std::to_string(log_n) + " failed in OpenSSL",
                          "the machine may lack the memory it needs");
  }
  return out;
}

struct ChaChaPoly::Impl {
  EVP_CIPHER_CTX* seal = nullptr;
  EVP_CIPHER_CTX* open = nullptr;
};

ChaChaPoly::ChaChaPoly(std::string_view key) : impl_(new Impl) {
  impl_->seal = EVP_CIPHER_CTX_new();
  impl_->open = EVP_CIPHER_CTX_new();
  // Setting the key once; each message then only sets its nonce.
  EVP_CipherInit_ex(impl_->seal, EVP_chacha20_poly1305(), nullptr, Bytes(key), nullptr, 1);
  EVP_CipherInit_ex(impl_->open, EVP_chacha20_poly1305(), nullptr, Bytes(key), nullptr, 0);
}

ChaChaPoly::~ChaChaPoly() {
  EVP_CIPHER_CTX_free(impl_->seal);
  EVP_CIPHER_CTX_free(impl_->open);
}

Status ChaChaPoly::Seal(const uint8_t nonce[kNonceSize], const void* in, size_t size, void* out) {
  EVP_CIPHER_CTX* c = impl_->seal;
  auto* bytes = static_cast<unsigned char*>(out);
  int n = 0, tail = 0;
  if (EVP_CipherInit_ex(c, nullptr, nullptr, nullptr, nonce, 1) != 1 ||
      EVP_CipherUpdate(c, bytes, &n, static_cast<const unsigned char*>(in),
                       static_cast<int>(size)) != 1 ||
      EVP_CipherFinal_ex(c, bytes + n, &tail) != 1 ||
      EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, kTagSize, bytes + size) != 1) {
    return Status::Failed("ChaCha20-Poly1305 encryption failed in OpenSSL");
  }
  return Status::Ok();
}

bool ChaChaPoly::Open(const uint8_t nonce[kNonceSize], const void* in, size_t size, void* out) {
  if (size < kTagSize) return false;
  EVP_CIPHER_CTX* c = impl_->open;
  const auto* bytes = static_cast<const unsigned char*>(in);
  const size_t text_size = size - kTagSize;
  unsigned char tag[kTagSize];
  std::memcpy(tag, bytes + text_size, kTagSize);
  int n = 0, tail = 0;
  return EVP_CipherInit_ex(c, nullptr, nullptr, nullptr, nonce, 0) == 1 &&
         EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, kTagSize, tag) == 1 &&
         EVP_CipherUpdate(c, static_cast<unsigned char*>(out), &n, bytes,
                          static_cast<int>(text_size)) == 1 &&
         EVP_CipherFinal_ex(c, static_cast<unsigned char*>(out) + n, &tail) == 1;
}

Result<std::string> SealZeroNonce(std::string_view key, std::string_view plaintext) {
  const uint8_t nonce[kNonceSize] = {};
  std::string out(plaintext.size() + kTagSize, '\0');
  ChaChaPoly cipher(key);
  GB_RETURN_IF_ERROR(cipher.Seal(nonce, plaintext.data(), plaintext.size(), out.data()));
  return out;
}

bool OpenZeroNonce(std::string_view key, std::string_view ciphertext, std::string* plaintext) {
  const uint8_t nonce[kNonceSize] = {};
  if (ciphertext.size() < kTagSize) return false;
  std::string out(ciphertext.size() - kTagSize, '\0');
  ChaChaPoly cipher(key);
  if (!cipher.Open(nonce, ciphertext.data(), ciphertext.size(), out.data())) return false;
  *plaintext = std::move(out);
  return true;
}

void Wipe(std::string& secret) {
  OPENSSL_cleanse(secret.data(), secret.size());
  secret.clear();
}

}  // namespace gb::age
