#include "store/s3_credentials.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <sstream>

#include "io/files.h"

namespace gb {
namespace {

std::string Trim(const std::string& text) {
  const size_t begin = text.find_first_not_of(" \t\r\n");
  if (begin == std::string::npos) return "";
  const size_t end = text.find_last_not_of(" \t\r\n");
  return text.substr(begin, end - begin + 1);
}

std::string Env(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? "" : value;
}

// Reads a file holding a secret, refusing one that others may read.
Result<std::string> ReadSecretFile(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return Status::FromErrno("cannot read " + path, errno);
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return Status::Usage("credentials file " + path + " has mode " + mode +
                             ": group or others may read the key in it",
                         "chmod 600 " + path);
  }
  return ReadWholeFile(path);
}

Status CheckPair(const S3Credentials& credentials, const std::string& where) {
  if (credentials.access_key.empty() && credentials.secret_key.empty()) {
    return Status::Usage("no S3 credentials in " + where,
                         "set an access key and a secret key; anonymous access is refused");
  }
  if (credentials.access_key.empty() || credentials.secret_key.empty()) {
    return Status::Usage(std::string("half an S3 key pair in ") + where + ": the " +
                             (credentials.access_key.empty() ? "access" : "secret") +
                             " key is missing",
                         "set both the access key and the secret key");
  }
  return Status::Ok();
}

}  // namespace

Result<S3Credentials> CredentialsFromEnvironment() {
  S3Credentials credentials{Env("AWS_ACCESS_KEY_ID"), Env("AWS_SECRET_ACCESS_KEY"),
                            Env("AWS_SESSION_TOKEN")};
  GB_RETURN_IF_ERROR(
      CheckPair(credentials, "the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)"));
  return credentials;
}

Result<S3Credentials> CredentialsFromKeyFiles(const std::string& access_key_file,
                                              const std::string& secret_key_file) {
  GB_ASSIGN_OR_RETURN(const std::string access, ReadSecretFile(access_key_file));
  GB_ASSIGN_OR_RETURN(const std::string secret, ReadSecretFile(secret_key_file));
  S3Credentials credentials{Trim(access), Trim(secret), ""};
  GB_RETURN_IF_ERROR(CheckPair(credentials, access_key_file + " and " + secret_key_file));
  return credentials;
}

Result<S3Credentials> CredentialsFromProfile(const std::string& path, const std::string& profile) {
  std::string file = path;
  if (file.empty()) file = Env("AWS_SHARED_CREDENTIALS_FILE");
  if (file.empty()) {
    if (Env("HOME").empty()) return Status::Usage("no credentials file: HOME is not set");
    file = Env("HOME") + "/.aws/credentials";
  }
  std::string name = profile.empty() ? Env("AWS_PROFILE") : profile;
  if (name.empty()) name = "default";
  GB_ASSIGN_OR_RETURN(const std::string text, ReadSecretFile(file));

  // The INI subset the AWS CLI writes: [name] sections of "key = value" lines, # or ; comments.
  S3Credentials credentials;
  bool found = false, in_section = false;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    line = Trim(line);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line.front() == '[' && line.back() == ']') {
      in_section = Trim(line.substr(1, line.size() - 2)) == name;
      found = found || in_section;
      continue;
    }
    const size_t equals = line.find('=');
    if (!in_section || equals == std::string::npos) continue;
    const std::string key = Trim(line.substr(0, equals));
    const std::string value = Trim(line.substr(equals + 1));
    if (key == "aws_access_key_id") credentials.access_key = value;
    if (key == "aws_secret_access_key") credentials.secret_key = value;
    if (key == "aws_session_token") credentials.session_token = value;
  }
  if (!found) {
    return Status::Usage("no profile [" + name + "] in " + file,
                         "set profile (or AWS_PROFILE) to a section of that file");
  }
  GB_RETURN_IF_ERROR(CheckPair(credentials, "profile [" + name + "] of " + file));
  return credentials;
}

Result<S3Credentials> LoadCredentials(const S3CredentialSource& source) {
  switch (source.kind) {
    case S3CredentialSource::Kind::kEnvironment:
      return CredentialsFromEnvironment();
    case S3CredentialSource::Kind::kKeyFiles:
      return CredentialsFromKeyFiles(source.access_key_file, source.secret_key_file);
    case S3CredentialSource::Kind::kProfile:
      return CredentialsFromProfile(source.profile_file, source.profile);
  }
  return Status::Usage("unknown S3 credentials source");
}

}  // namespace gb
