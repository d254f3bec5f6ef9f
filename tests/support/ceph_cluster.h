// The throwaway Ceph cluster of the store tests (1 mon, 1 memstore OSD, 1 radosgw on
// 127.0.0.1), started by tests/support/start-ceph on first use and stopped when the test
// binary ends; the script also stops it if the binary crashes (its stdin closes). Each test
// makes its own bucket on it.
//
// Thread-safety: call SharedRgw() from the main test thread (the cluster's watchdog signal is
// tied to the thread that started it).
#pragma once

#include <string>

namespace gb {
namespace testing {

struct RgwEndpoint {
  std::string endpoint;      // http://127.0.0.1:<port>
  std::string tls_endpoint;  // https://127.0.0.1:<port>, with a self-signed certificate
  std::string ca_file;       // that certificate
  std::string access_key;
  std::string secret_key;
};

// The shared cluster's endpoint, starting it on the first call. Returns nullptr, with the
// reason in `skip_reason`, when the Ceph packages are absent and $CI is unset (tests then
// skip); in CI, or when the packages are there but the cluster cannot start, the binary
// aborts with the script's output.
const RgwEndpoint* SharedRgw(std::string* skip_reason);

}  // namespace testing
}  // namespace gb
