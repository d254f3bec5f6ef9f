// KeyChecks: what `check` says about the keys of [encryption] (issue [4/5] point 6): which
// are configured, in their public forms only (recipients, the signing key's public key, the
// trusted keys), and whether the key files are safe and usable:
//   - a key file (identity_file, passphrase_file, signing_key_file) readable or writable by
//     group or others, an identity file that does not parse, a signing key that does not
//     read, and a signing key not among trusted_keys when trusted_keys is set: problems;
//   - an identity on the backup host (restore needs it, backups do not): a warning, as is an
//     identity that matches none of the recipients;
//   - recipients without any identity on this host: the recommended setup, said as info.
// No secret is ever part of a finding. Stateless; reads the key files; thread-safe.
#pragma once

#include <vector>

#include "config/config.h"
#include "coordinator/findings.h"

namespace gb {

// Subjects: "encryption recipients", "identity file", "passphrase file", "signing key",
// "trusted keys". A passphrase-protected identity file is opened only with passphrase_file:
// check never asks on the terminal.
std::vector<Finding> CheckKeys(const EncryptionConfig& encryption);

}  // namespace gb
