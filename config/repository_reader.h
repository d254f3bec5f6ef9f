// ReadRepository: one repository table, [repository] or [repositories.NAME], read into a
// RepositoryConfig. Both kinds of table accept the same keys and obey the same rules (exactly
// one of path and url; the S3 keys only with url), so there is one reader for both.
//
// Thread-safety: none; called by the one thread that parses.
#pragma once

#include <string>
#include <vector>

#include "config/config.h"
#include "config/toml_reader.h"

namespace gb {

// Every key a repository table accepts.
const std::vector<std::string>& RepositoryKeys();

// Reads the table at `section` (absent: an empty table) as the repository `name`; problems go
// to `reader`.
void ReadRepository(TomlReader& reader, const std::string& section, const std::string& name,
                    RepositoryConfig* out);

}  // namespace gb
