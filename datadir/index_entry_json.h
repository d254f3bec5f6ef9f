// The JSON line of one index entry parsed straight into a FileIndexEntry (nlohmann's SAX
// interface): no JSON document is built and no key looked up per field, which made reading
// the index of a large set (verify, restore, diff) cost more than hashing its data-dir half.
// The same rules as a document would give: the keys FileIndexEntry::ToJson writes, the
// optional ones defaulted, unknown keys (of a newer writer) ignored, a value of the wrong
// type or a missing key an error.
//
// Thread-safety: a pure function.
#pragma once

#include <string>
#include <string_view>

#include "datadir/file_index.h"

namespace gb {

// `line` into `entry` (all of it overwritten). On failure, false and `why` says what is
// wrong (the caller names the line).
bool ParseIndexEntry(std::string_view line, FileIndexEntry& entry, std::string& why);

// Appends to `out` the line of `entry` without its newline: exactly entry.ToJson().dump(),
// without building the document (a map of up to 17 values an entry: writing the index of a
// set of 112k entries took 0.4 CPU-s while pg_dump's output drained beside it). A string
// that needs escaping (or an invalid UTF-8 check) is written by the document's serializer.
void AppendIndexEntryJson(const FileIndexEntry& entry, std::string& out);

}  // namespace gb
