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

// Reads the table of the repository `name` ("main": [repository], absent: an empty table);
// problems go to `reader`.
void ReadRepository(TomlReader& reader, const std::string& name, RepositoryConfig* out);

// The table of a repository: "repository" for main, else "repositories.NAME".
std::string RepositorySection(const std::string& name);

// The rules between repositories and the node, once every key is right: no local repository
// inside node.data_dir, no repository in or inside another.
void CheckRepositoryPlaces(TomlReader& reader, const Config& config);

}  // namespace gb
