// PlantArchive: replaces a set's data-dir half by a hand-made archive (the pair member,
// config/, config/general-settings.json and the given members) and rewrites the manifest
// with the new file's hash and size and the archive's entry and byte counts, so that the only
// fault a check can find is in the members. For end-to-end tests of verify and restore;
// header-only because it needs the coordinator's manifest and pair identity, which the
// test-support library does not link.
#pragma once

#include <archive.h>
#include <archive_entry.h>
#include <sys/types.h>

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "coordinator/manifest.h"
#include "coordinator/pair_identity.h"
#include "io/atomic_file.h"
#include "io/zstd_file.h"

namespace gb {
namespace testing {

struct PlantedMember {
  std::string name;
  mode_t type;  // AE_IFREG, AE_IFDIR, AE_IFLNK
  std::string content_or_target;
};

// The tar bytes of the pair member, config/, config/general-settings.json and `members`;
// `*content_bytes` gets the bytes of regular-file content (the pair member excluded, as a
// backup counts it).
inline std::string PlantedTar(const PairIdentity& identity, const std::vector<PlantedMember>& members,
                              uint64_t* content_bytes) {
  std::vector<PlantedMember> all = {{".govern-backup", AE_IFDIR, ""},
                                    {".govern-backup/pair.toml", AE_IFREG, identity.ToText()},
                                    {"config", AE_IFDIR, ""},
                                    {"config/general-settings.json", AE_IFREG, "{}\n"}};
  all.insert(all.end(), members.begin(), members.end());
  std::vector<char> buffer(1 << 20);
  size_t used = 0;
  struct archive* tar = archive_write_new();
  archive_write_set_format_pax_restricted(tar);
  archive_write_set_bytes_in_last_block(tar, 1);
  EXPECT_EQ(archive_write_open_memory(tar, buffer.data(), buffer.size(), &used), ARCHIVE_OK);
  *content_bytes = 0;
  for (const PlantedMember& member : all) {
    struct archive_entry* entry = archive_entry_new();
    archive_entry_set_pathname(entry, member.name.c_str());
    archive_entry_set_filetype(entry, member.type);
    archive_entry_set_perm(entry, member.type == AE_IFDIR ? 0755 : 0644);
    if (member.type == AE_IFLNK) archive_entry_set_symlink(entry, member.content_or_target.c_str());
    if (member.type == AE_IFREG) {
      archive_entry_set_size(entry, static_cast<la_int64_t>(member.content_or_target.size()));
      if (member.name.rfind(".govern-backup/", 0) != 0) *content_bytes += member.content_or_target.size();
    }
    EXPECT_EQ(archive_write_header(tar, entry), ARCHIVE_OK) << member.name;
    if (member.type == AE_IFREG)
      archive_write_data(tar, member.content_or_target.data(), member.content_or_target.size());
    archive_entry_free(entry);
  }
  archive_write_close(tar);
  archive_write_free(tar);
  return std::string(buffer.data(), used);
}

inline void PlantArchive(const std::string& set_dir, const std::vector<PlantedMember>& members) {
  Result<Manifest> loaded = Manifest::Load(set_dir + "/manifest.toml");
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  Manifest manifest = *loaded;
  PairIdentity identity{manifest.id, manifest.pair_token, kRoleDatadir};
  uint64_t content_bytes = 0;
  std::string tar = PlantedTar(identity, members, &content_bytes);

  const std::string half = set_dir + "/" + manifest.datadir.file;
  std::remove(half.c_str());
  ZstdWriterOptions options;
  options.header_frame = identity.ToText();
  auto writer = ZstdFileWriter::Create(half, options);
  ASSERT_TRUE(writer.ok()) << writer.status().ToString();
  ASSERT_TRUE((*writer)->Write(tar.data(), tar.size()).ok());
  ASSERT_TRUE((*writer)->Finish().ok());
  manifest.datadir.sha256 = (*writer)->sha256_hex();
  manifest.datadir.bytes = (*writer)->file_bytes();
  manifest.datadir.files = 2 + members.size();  // the pair member's folder is not counted
  manifest.datadir.source_bytes = content_bytes;
  // A planted half is one plain zstd stream and has no index: the set reads as 0.1.0's did.
  manifest.datadir.seekable = false;
  if (manifest.index) std::remove((set_dir + "/" + manifest.index->file).c_str());
  manifest.index.reset();
  ASSERT_TRUE(WriteFileAtomically(set_dir + "/manifest.toml", manifest.ToText()).ok());
}

}  // namespace testing
}  // namespace gb
