// S3Credentials: the key pair (and session token) that signs S3 requests, and the three places
// it is read from: the environment, two key files, a profile of the shared credentials file.
// Errors name the variable, file or profile, never a secret.
//
// Thread-safety: plain values and stateless loaders.
#pragma once

#include <string>

#include "io/status.h"

namespace gb {

struct S3Credentials {
  std::string access_key;
  std::string secret_key;
  std::string session_token;  // temporary credentials only; sent as x-amz-security-token
};

// Where the configuration says the keys are (credentials = "env" | "file" | "profile").
struct S3CredentialSource {
  enum class Kind { kEnvironment, kKeyFiles, kProfile };
  Kind kind = Kind::kEnvironment;
  std::string access_key_file;  // kKeyFiles
  std::string secret_key_file;  // kKeyFiles
  std::string profile_file;     // kProfile; empty: the AWS default
  std::string profile;          // kProfile; empty: $AWS_PROFILE or "default"
};
Result<S3Credentials> LoadCredentials(const S3CredentialSource& source);

// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, optional AWS_SESSION_TOKEN. A half pair is refused.
Result<S3Credentials> CredentialsFromEnvironment();

// One key per file (surrounding whitespace ignored); each file must not be readable by group
// or others (mode 0600 or stricter), as ssh does for private keys.
Result<S3Credentials> CredentialsFromKeyFiles(const std::string& access_key_file,
                                              const std::string& secret_key_file);

// The [profile] section of the shared credentials file: `path` if given, else
// $AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/credentials. `profile` empty means $AWS_PROFILE,
// else "default". Same mode rule as the key files.
Result<S3Credentials> CredentialsFromProfile(const std::string& path, const std::string& profile);

}  // namespace gb
