// PrintJson: how every command prints its --json document on stdout: one document, then a
// newline. File paths are bytes, not always UTF-8: invalid sequences become U+FFFD instead
// of aborting the output. Safe from any thread (one write of the whole document).
#pragma once

#include <nlohmann/json.hpp>

namespace gb {

void PrintJson(const nlohmann::json& document);

}  // namespace gb
