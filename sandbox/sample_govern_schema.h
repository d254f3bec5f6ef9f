// LoadSampleGovernSchema: a Govern-like database for the demo, the tests and the benchmark.
// Stateless; each call opens its own connection.
#pragma once

#include <cstdint>
#include <string>

#include "io/status.h"
#include "pg/connection.h"

namespace gb {

// Creates a Govern-like schema in `params.dbname` (blueprints, artifacts, relationships,
// permissions, user profiles, custom pages...) in `schema` ("" = public) and fills it with
// about `approx_bytes` of data: the database grows by about that much, its uncompressed
// custom-format dump is ~80% of it and compresses ~3x with zstd. 300 MB take ~20 s.
Status LoadSampleGovernSchema(const ConnectionParams& params, const std::string& schema,
                              uint64_t approx_bytes);

}  // namespace gb
