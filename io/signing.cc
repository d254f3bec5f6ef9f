#include "io/signing.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "io/age_crypto.h"
#include "io/age_identity_file.h"
#include "io/files.h"

namespace gb {
namespace {

constexpr char kPublicPrefix[] = "ed25519:";
constexpr size_t kPublicKeySize = 32;
constexpr size_t kSignatureSize = 64;

struct PkeyDeleter {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyDeleter>;

struct BioDeleter {
  void operator()(BIO* bio) const { BIO_free(bio); }
};

bool DecodePublicKey(const std::string& text, std::string* raw) {
  const std::string prefix = kPublicPrefix;
  return text.compare(0, prefix.size(), prefix) == 0 &&
         age::Base64Decode(std::string_view(text).substr(prefix.size()), raw) &&
         raw->size() == kPublicKeySize;
}

// True when `signature` is a valid Ed25519 signature of `data` by the raw public key.
bool VerifyWith(const std::string& raw_key, std::string_view data, const std::string& signature) {
  Pkey key(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr,
                                       reinterpret_cast<const unsigned char*>(raw_key.data()),
                                       raw_key.size()));
  EVP_MD_CTX* context = EVP_MD_CTX_new();
  const bool valid =
      key && context && EVP_DigestVerifyInit(context, nullptr, nullptr, nullptr, key.get()) == 1 &&
      EVP_DigestVerify(context, reinterpret_cast<const unsigned char*>(signature.data()),
                       signature.size(), reinterpret_cast<const unsigned char*>(data.data()),
                       data.size()) == 1;
  EVP_MD_CTX_free(context);
  return valid;
}

}  // namespace

struct SigningKey::Impl {
  Pkey key;
};

SigningKey::SigningKey() : impl_(new Impl) {}
SigningKey::~SigningKey() = default;
SigningKey::SigningKey(SigningKey&&) noexcept = default;

SigningKey SigningKey::Generate() {
  SigningKey signing_key;
  signing_key.impl_->key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  // Fails only if OpenSSL lacks Ed25519 or randomness: nothing could be signed safely.
  if (!signing_key.impl_->key) abort();
  return signing_key;
}

Result<SigningKey> SigningKey::ReadFile(const std::string& path) {
  GB_RETURN_IF_ERROR(CheckPrivateFileMode(path, "signing key file"));
  GB_ASSIGN_OR_RETURN(std::string pem, ReadWholeFile(path));
  std::unique_ptr<BIO, BioDeleter> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  SigningKey signing_key;
  signing_key.impl_->key.reset(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  age::Wipe(pem);
  if (!signing_key.impl_->key ||
      EVP_PKEY_get_id(signing_key.impl_->key.get()) != EVP_PKEY_ED25519) {
    return Status::Usage(
        "signing key file " + path + " does not hold an Ed25519 private key in PEM",
        "create one with the tool's key generation, or `openssl genpkey "
        "-algorithm ed25519`");
  }
  return signing_key;
}

Status SigningKey::WriteFile(const std::string& path) const {
  std::unique_ptr<BIO, BioDeleter> bio(BIO_new(BIO_s_mem()));
  if (PEM_write_bio_PrivateKey(bio.get(), impl_->key.get(), nullptr, nullptr, 0, nullptr,
                               nullptr) != 1) {
    return Status::Failed("cannot encode the signing key as PEM");
  }
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return Status::FromErrno("cannot create signing key file " + path, errno);
  Status status = fchmod(fd, 0600) == 0 ? WriteAll(fd, data, static_cast<size_t>(size), path)
                                        : Status::FromErrno("cannot chmod " + path, errno);
  if (status.ok() && fsync(fd) != 0) status = Status::FromErrno("cannot sync " + path, errno);
  if (close(fd) != 0 && status.ok()) status = Status::FromErrno("cannot close " + path, errno);
  if (!status.ok()) unlink(path.c_str());
  return status;
}

std::string SigningKey::PublicKey() const {
  std::string raw(kPublicKeySize, '\0');
  size_t size = raw.size();
  EVP_PKEY_get_raw_public_key(impl_->key.get(), reinterpret_cast<unsigned char*>(raw.data()),
                              &size);
  return kPublicPrefix + age::Base64Encode(raw);
}

Result<Signature> SigningKey::Sign(std::string_view data) const {
  std::string raw(kSignatureSize, '\0');
  size_t size = raw.size();
  EVP_MD_CTX* context = EVP_MD_CTX_new();
  const bool ok =
      context && EVP_DigestSignInit(context, nullptr, nullptr, nullptr, impl_->key.get()) == 1 &&
      EVP_DigestSign(context, reinterpret_cast<unsigned char*>(raw.data()), &size,
                     reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
  EVP_MD_CTX_free(context);
  if (!ok || size != kSignatureSize) return Status::Failed("Ed25519 signing failed in OpenSSL");
  return Signature{PublicKey(), age::Base64Encode(raw)};
}

Status ValidatePublicKey(const std::string& text) {
  std::string raw;
  if (!DecodePublicKey(text, &raw)) {
    return Status::Usage("'" + text + "' is not an Ed25519 public key",
                         "trusted keys look like ed25519:<43 base64 characters>");
  }
  return Status::Ok();
}

SignatureVerdict VerifySignature(std::string_view data, const std::optional<Signature>& signature,
                                 const std::vector<std::string>& trusted_keys) {
  if (!signature) return {SignatureCheck::kUnsigned, ""};
  SignatureVerdict verdict{SignatureCheck::kUnknownKey, signature->public_key};
  std::string raw_key, raw_signature;
  if (std::find(trusted_keys.begin(), trusted_keys.end(), signature->public_key) ==
          trusted_keys.end() ||
      !DecodePublicKey(signature->public_key, &raw_key)) {
    return verdict;
  }
  const bool valid = age::Base64Decode(signature->value, &raw_signature) &&
                     raw_signature.size() == kSignatureSize &&
                     VerifyWith(raw_key, data, raw_signature);
  verdict.check = valid ? SignatureCheck::kValid : SignatureCheck::kInvalid;
  return verdict;
}

std::string SignatureVerdict::Describe() const {
  switch (check) {
    case SignatureCheck::kValid:
      return "signed by trusted key " + public_key;
    case SignatureCheck::kUnsigned:
      return "not signed";
    case SignatureCheck::kUnknownKey:
      return "signed by " + public_key + ", which is not a trusted key";
    case SignatureCheck::kInvalid:
      return "the signature by trusted key " + public_key + " does not match: the data was altered";
  }
  return "unknown signature state";
}

}  // namespace gb
