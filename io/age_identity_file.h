// Reading age key files from disk: a plain `age-keygen` file, or one protected with a
// passphrase (`age-keygen | age -p > key.age`), the passphrase read from the terminal or from
// a file. A key file (and a passphrase file) readable by group or others is refused.
// Functions only; the terminal prompt is not meant to be used by two threads at once.
#pragma once

#include <string>
#include <vector>

#include "io/age_keys.h"
#include "io/status.h"

namespace gb {

struct PassphraseSource {
  std::string file;  // first line of this file; empty = ask on the controlling terminal
};

// Refuses a secret file that group or others may read (mode & 077 has read or write bits),
// naming the file and its mode. `what` is "key file", "passphrase file", ...
Status CheckPrivateFileMode(const std::string& path, const std::string& what);

// The passphrase from `source`; `prompt` is shown on the terminal (echo off).
Result<std::string> ReadPassphrase(const PassphraseSource& source, const std::string& prompt);

// The identities of the key file at `path`. A passphrase-protected file is decrypted with a
// passphrase from `passphrase` (asked only then).
Result<std::vector<AgeIdentity>> ReadIdentityFile(const std::string& path,
                                                  const PassphraseSource& passphrase = {});

}  // namespace gb
