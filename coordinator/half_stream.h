// HalfStream: a half of a set on its way into or out of the repository's store, as one zstd
// stream (its first frame the pair identity): the one writer and the one reader of halves that
// backup, verify, audit and restore share, whatever the store. A half may be written seekable
// (independent frames and a trailing seek table, io/seekable_zstd_writer.h): it stays one valid
// zstd stream, so every reader of plain halves reads it unchanged.
//
// Encryption: when the repository has recipients (Repository::keys(), set_keys.h) every
// half is written as age(zstd(...)) with the pair identity also in clear in the age header's
// pair stanza (io/age_header.h), and its sha256/bytes are those of the stored age file. The
// readers below tell an age file by its first bytes and decrypt it with the repository's
// identities, so every caller reads plaintext whether the set is encrypted or not.
//
// Thread-safety: a HalfUpload is fed by one thread at a time; OpenHalf's reader likewise.
#pragma once

#include <memory>
#include <string>

#include "coordinator/repository.h"
#include "io/age_stream.h"
#include "io/range_source.h"
#include "io/seekable_zstd_writer.h"
#include "io/sha256.h"
#include "io/status.h"
#include "io/zstd_file.h"
#include "store/object_stream.h"

namespace gb {

struct HalfOptions {
  int level = 3;
  int threads = 0;        // compressing threads; 0 = all online cores
  std::string identity;   // payload of the leading skippable frame (the pair identity)
  bool seekable = false;  // independent frames + seek table, for ranged reads (ls, extract)
  // Seekable only: uncompressed bytes per frame at most. The writer holds (threads + 2) frames
  // of input and output each; 4 MiB frames and kMaxSeekableThreads bound that to 48 MiB on
  // any machine (16 MiB frames took backup's peak RSS from 47 to 167 MiB on 2 cores), and
  // make a one-file extract read less.
  size_t frame_input_size = 4 << 20;
  // When given: receives a copy of the zstd stream as written, before any encryption (the
  // backup host's plaintext copy of an index, index_cache.h).
  std::string* plain_copy = nullptr;
};

// The seekable writer compresses with at most this many threads whatever [backup] threads says:
// a bound on its memory (above), at the cost of speed only on machines of more than 4 cores.
inline constexpr int kMaxSeekableThreads = 4;

class HalfUpload {
 public:
  // Starts writing object `file` of set `id`: nothing is listed under its key until Finish.
  static Result<std::unique_ptr<HalfUpload>> Start(const Repository& repository,
                                                   const std::string& id,
                                                   const std::string& file,
                                                   const HalfOptions& options);
  // Where the uncompressed half goes.
  ByteSink& sink() { return *writer_; }
  // At a boundary the reader may want to start at (a tar member's end): ends the current
  // frame there if it is at least half full, so that frames stay near frame_input_size.
  // Nothing for a plain half.
  Status MaybeCutFrame();
  // Ends the zstd stream and stores the object; checks that what the store holds is what was
  // written (size; on S3 also the multipart ETag, checked by the upload itself).
  Result<ObjectInfo> Finish();
  // Gives up: the store keeps nothing of it.
  void Abort(const Status& why);

  uint64_t input_bytes() const;
  uint64_t stored_bytes() const;  // of the stored object (the age file when encrypted)
  std::string sha256_hex() const;  // likewise; valid after Finish()
  bool encrypted() const { return age_ != nullptr; }
  // Of the zstd stream (what an encrypted half's age file holds); valid after Finish().
  // Encrypted, only computed with HalfOptions::plain_copy (the index); else "".
  std::string plain_sha256_hex() const;

 private:
  HalfUpload() = default;
  std::string where_;
  size_t frame_input_size_ = 0;
  uint64_t frame_start_ = 0;  // input offset where the current seekable frame began
  std::unique_ptr<ObjectWriter> object_;  // declared first: outlives the writers into it
  std::unique_ptr<HashingSink> stored_;   // encrypted: hashes what reaches object_
  std::unique_ptr<AgeEncryptingSink> age_;          // encrypted halves only
  std::unique_ptr<ByteSink> plain_copy_;            // tees the zstd stream, when asked
  std::unique_ptr<ZstdWriter> zstd_;                // plain half, or
  std::unique_ptr<SeekableZstdWriter> seekable_;    // seekable half
  ByteSink* writer_ = nullptr;                      // whichever of the two
  std::string sha256_hex_;                          // of the stored object, once finished
};

// The payload of half `file` of set `id`, streamed from the store (ranged reads with
// read-ahead: nothing is downloaded whole first). A seekable half's frames are fetched and
// decompressed ahead on up to 4 threads (io/frame_stream.h); any other half is read as one
// zstd stream. Either way the reader hashes every byte of the object. Errors name it.
// An encrypted half is decrypted as it streams (its hash is still the stored file's); with
// no identity configured, or none that matches, the error names the set and the key.
Result<std::unique_ptr<ZstdReader>> OpenHalf(const Repository& repository, const std::string& id,
                                             const std::string& file);
// The half's pair identity: its leading identity frame (two small ranged reads), or, for an
// encrypted half, the age header's pair stanza (no identity needed; one small read). An age
// file without the stanza (re-encrypted by hand) is decrypted to read its frame.
Result<std::string> ReadHalfHeader(const Repository& repository, const std::string& id,
                                   const std::string& file);
// The same for any object of the repository (a stray half audit found); `id` names the set
// it should belong to in errors.
Result<std::string> ReadObjectHeader(const Repository& repository, const std::string& key,
                                     const std::string& id);
// Ranged reads of the half's plaintext (the zstd file), decrypted chunk by chunk when it is
// encrypted: for the seekable reader (set_tree.h, extract). `*stored_bytes` (if given) gets
// the stored object's size, the one the manifest records.
Result<std::unique_ptr<RangeSource>> OpenHalfRanges(const Repository& repository,
                                                    const std::string& id,
                                                    const std::string& file,
                                                    uint64_t* stored_bytes = nullptr);

}  // namespace gb
