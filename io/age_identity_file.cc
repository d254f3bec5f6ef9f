#include "io/age_identity_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "io/age_crypto.h"
#include "io/age_stream.h"
#include "io/files.h"

namespace gb {
namespace {

constexpr char kAgeIntro[] = "age-encryption.org/v1\n";

std::string OctalMode(mode_t mode) {
  char text[8];
  std::snprintf(text, sizeof(text), "%04o", static_cast<unsigned>(mode & 07777));
  return text;
}

// Reads one line from the terminal with echo off, restoring the terminal afterwards.
Result<std::string> AskTerminal(const std::string& prompt) {
  int fd = open("/dev/tty", O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    return Status::Usage("a passphrase is needed but there is no terminal to ask it on",
                         "give it in a file readable only by its owner (passphrase file)");
  }
  struct termios saved {};
  const bool is_terminal = tcgetattr(fd, &saved) == 0;
  if (is_terminal) {
    struct termios quiet = saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    tcsetattr(fd, TCSAFLUSH, &quiet);
  }
  Status status = WriteAll(fd, prompt.data(), prompt.size(), "/dev/tty");
  std::string line;
  char c;
  while (status.ok()) {
    ssize_t n = read(fd, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) status = Status::FromErrno("cannot read the passphrase from /dev/tty", errno);
    if (n <= 0 || c == '\n') break;
    line.push_back(c);
  }
  if (is_terminal) tcsetattr(fd, TCSAFLUSH, &saved);
  (void)WriteAll(fd, "\n", 1, "/dev/tty");
  close(fd);
  if (!status.ok()) return status;
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

Result<std::vector<AgeIdentity>> DecryptIdentityFile(const std::string& path,
                                                     const std::string& encrypted,
                                                     const PassphraseSource& source) {
  GB_ASSIGN_OR_RETURN(std::string passphrase,
                      ReadPassphrase(source, "Enter passphrase for key file " + path + ": "));
  std::vector<AgeIdentity> passphrase_identity = {AgeIdentity::Passphrase(passphrase)};
  age::Wipe(passphrase);
  AgeFailure failure = AgeFailure::kNone;
  auto text = AgeDecryptString(encrypted, passphrase_identity, "key file " + path, &failure);
  if (failure == AgeFailure::kNoMatch) {
    return Status::Usage("wrong passphrase for key file " + path,
                         "the key file must have been encrypted with `age -p`");
  }
  if (!text.ok()) return text.status();
  auto identities = ParseIdentities(*text, path);
  age::Wipe(*text);
  return identities;
}

}  // namespace

Status CheckPrivateFileMode(const std::string& path, const std::string& what) {
  struct stat info;
  if (stat(path.c_str(), &info) != 0)
    return Status::FromErrno("cannot read " + what + " " + path, errno);
  if ((info.st_mode & 077) != 0) {
    return Status::Usage(
        what + " " + path + " has mode " + OctalMode(info.st_mode) +
            ": group or others may access it",
        "chmod 600 " + path + " (and consider the secret exposed if others read it)");
  }
  return Status::Ok();
}

Result<std::string> ReadPassphrase(const PassphraseSource& source, const std::string& prompt) {
  if (source.file.empty()) return AskTerminal(prompt);
  GB_RETURN_IF_ERROR(CheckPrivateFileMode(source.file, "passphrase file"));
  GB_ASSIGN_OR_RETURN(std::string text, ReadWholeFile(source.file));
  std::string line = text.substr(0, text.find('\n'));
  age::Wipe(text);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line.empty()) return Status::Usage("passphrase file " + source.file + " is empty");
  return line;
}

Result<std::vector<AgeIdentity>> ReadIdentityFile(const std::string& path,
                                                  const PassphraseSource& passphrase) {
  GB_RETURN_IF_ERROR(CheckPrivateFileMode(path, "key file"));
  GB_ASSIGN_OR_RETURN(std::string text, ReadWholeFile(path));
  Result<std::vector<AgeIdentity>> identities =
      text.compare(0, std::strlen(kAgeIntro), kAgeIntro) == 0
          ? DecryptIdentityFile(path, text, passphrase)
          : ParseIdentities(text, path);
  age::Wipe(text);
  return identities;
}

}  // namespace gb
