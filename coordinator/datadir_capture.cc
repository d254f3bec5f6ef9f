#include "coordinator/datadir_capture.h"

#include <spdlog/spdlog.h>

#include "coordinator/format_bytes.h"
#include "coordinator/half_stream.h"
#include "coordinator/index_cache.h"
#include "coordinator/interrupt.h"
#include "coordinator/pair_identity.h"
#include "coordinator/repository.h"
#include "coordinator/set_keys.h"
#include "datadir/archive_writer.h"
#include "datadir/change_rule.h"
#include "datadir/file_index.h"

namespace gb {
namespace {

// The set's per-file index, streamed into its own object.
// Encrypted, it is also kept in clear in the host's index cache (index_cache.h), for the
// next set to build on without the identity.
class IndexCapture {
 public:
  Status Start(const CaptureRequest& request, const PairIdentity& identity) {
    request_ = &request;
    file_ = request.id + kFileIndexSuffix;
    HalfOptions options = HalfOptionsFor(request.context->config, identity);
    const SetKeys* keys = request.repository->keys();
    if (keys != nullptr && keys->encrypts()) options.plain_copy = &plain_;
    GB_ASSIGN_OR_RETURN(upload_, HalfUpload::Start(*request.repository, request.id, file_,
                                                   options));
    writer_ = std::make_unique<FileIndexWriter>(upload_->sink());
    return Status::Ok();
  }
  Status Add(const FileIndexEntry& entry) { return writer_->Add(entry); }
  void Abort(const Status& why) {
    if (upload_) upload_->Abort(why);
  }
  Result<ManifestIndex> Finish() {
    GB_RETURN_IF_ERROR(upload_->Finish().status());
    ManifestIndex index;
    index.file = file_;
    index.sha256 = upload_->sha256_hex();
    index.bytes = upload_->stored_bytes();
    index.entries = writer_->entries();
    if (upload_->encrypted()) {
      index.encrypted = true;
      index.plain_sha256 = upload_->plain_sha256_hex();
      KeepCopy();
    }
    return index;
  }

 private:
  // A copy that cannot be written costs the next set its parent (it is taken full), not
  // this set: a warning.
  void KeepCopy() {
    const Repository& repository = *request_->repository;
    IndexCache cache(request_->context->config.backup.cache_dir, repository);
    Status stored = cache.Store(request_->id, plain_);
    if (!stored.ok())
      spdlog::warn("the local copy of the index of set {} was not kept ({}): the next set will "
                   "be full unless the identity is configured",
                   request_->id, stored.ToString());
    Result<std::vector<std::string>> existing = repository.CompleteSetIds();
    if (!existing.ok()) return;
    existing->push_back(request_->id);
    cache.Prune(*existing);
  }

  const CaptureRequest* request_ = nullptr;
  std::string file_;
  std::string plain_;  // the index's zstd stream as written
  std::unique_ptr<HalfUpload> upload_;
  std::unique_ptr<FileIndexWriter> writer_;
};

// The parent's index: its local copy when the repository's is encrypted and the copy is
// there, else the stored one (decrypted when an identity is configured).
Result<std::unique_ptr<ZstdReader>> OpenParentIndex(const CaptureRequest& request,
                                                    const Manifest& parent) {
  Status cached = Status::Ok();
  if (parent.index->encrypted) {
    IndexCache cache(request.context->config.backup.cache_dir, *request.repository);
    Result<std::unique_ptr<ZstdReader>> copy = cache.Open(parent);
    if (copy.ok()) return copy;
    cached = copy.status();
  }
  Result<std::unique_ptr<ZstdReader>> stored =
      OpenHalf(*request.repository, parent.id, parent.index->file);
  if (stored.ok() || cached.ok()) return stored;
  return Status::Failed(cached.message() + "; and the stored one: " + stored.status().message());
}

}  // namespace

HalfOptions HalfOptionsFor(const Config& config, const PairIdentity& identity) {
  HalfOptions options;
  options.level = config.backup.compression_level;
  options.threads = config.backup.threads;
  options.identity = identity.ToText();
  return options;
}

struct DatadirCapture::Halves {
  ManifestDatadir datadir;
  std::unique_ptr<HalfUpload> upload;
  IndexCapture index;
  std::unique_ptr<InterruptibleSink> sink;
  std::unique_ptr<ZstdReader> parent_half;
  std::unique_ptr<FileIndexReader> parent_index;
  ArchiveWriteOptions options;
  std::unique_ptr<DataDirArchiver> archiver;
  ArchiveWriteStats stats;
};

DatadirCapture::DatadirCapture() = default;
DatadirCapture::~DatadirCapture() {
  if (halves_) Abort(Status::Failed("the backup stopped"));
}

void DatadirCapture::Abort(const Status& why) {
  halves_->archiver.reset();  // abandons the archive before its sink goes
  if (halves_->upload) halves_->upload->Abort(why);
  halves_->index.Abort(why);
  halves_.reset();
}

Status DatadirCapture::Start(const CaptureRequest& request, const std::string& source,
                             bool two_passes) {
  request_ = &request;
  source_ = source;
  two_passes_ = two_passes;
  parent_ = request.parent;
  return Begin();
}

Status DatadirCapture::Begin() {
  const CaptureRequest& request = *request_;
  const Config& config = request.context->config;
  halves_ = std::make_unique<Halves>();
  Halves& h = *halves_;
  h.datadir.file = Repository::DatadirFileName(request.id);
  h.datadir.seekable = true;
  PairIdentity identity{request.id, request.pair_token, kRoleDatadir};
  HalfOptions half_options = HalfOptionsFor(config, identity);
  half_options.seekable = true;
  GB_ASSIGN_OR_RETURN(h.upload, HalfUpload::Start(*request.repository, request.id,
                                                  h.datadir.file, half_options));
  GB_RETURN_IF_ERROR(h.index.Start(request, identity));
  if (parent_ != nullptr) {
    const std::string& file = parent_->index->file;
    Result<std::unique_ptr<ZstdReader>> opened = OpenParentIndex(request, *parent_);
    if (opened.ok()) {
      h.parent_half = std::move(*opened);
      h.parent_index = std::make_unique<FileIndexReader>(*h.parent_half, file);
    } else {
      spdlog::warn("the index of set {} cannot be read ({}): taking a full set instead",
                   parent_->id, opened.status().message());
      parent_ = nullptr;
    }
  }
  h.sink = std::make_unique<InterruptibleSink>(h.upload->sink());
  ArchiveWriteOptions& options = h.options;
  options.source_dir = source_;
  options.exclude = config.backup.exclude;
  options.pair_member = identity.ToText();
  options.online = request.consistency == Consistency::kOnline;
  options.set_id = request.id;
  options.parent = h.parent_index.get();
  options.two_passes = two_passes_;
  options.change_journal = config.backup.change_journal;
  Progress* progress = request.progress;
  options.progress = [progress](uint64_t done) {
    if (progress) progress->Set(0, done);
  };
  HalfUpload* half = h.upload.get();
  options.on_member = [half](const FileIndexEntry&) { return half->MaybeCutFrame(); };
  IndexCapture* index = &h.index;
  options.on_entry = [index](const FileIndexEntry& entry) { return index->Add(entry); };
  GB_ASSIGN_OR_RETURN(h.archiver, DataDirArchiver::Start(options, *h.sink));
  return Status::Ok();
}

Status DatadirCapture::FirstPass() {
  spdlog::info("archiving {}{}", source_,
               parent_ ? " (what changed since set " + parent_->id + ")" : std::string());
  Status status = halves_->archiver->FirstPass();
  if (!status.ok() && parent_ != nullptr && halves_->archiver->parent_failed()) {
    spdlog::warn("the index of set {} cannot be read ({}): taking a full set instead",
                 parent_->id, status.message());
    Abort(status);
    parent_ = nullptr;
    GB_RETURN_IF_ERROR(Begin());
    status = halves_->archiver->FirstPass();
  }
  if (!status.ok()) Abort(status);
  return status;
}

Status DatadirCapture::SecondPass() {
  spdlog::info("archiving again what changed in {} since the first pass", source_);
  Status status = halves_->archiver->SecondPass();
  if (!status.ok()) Abort(status);
  return status;
}

Status DatadirCapture::CloseArchive() {
  Result<ArchiveWriteStats> stats = halves_->archiver->Finish();
  if (!stats.ok()) {
    Abort(stats.status());
    return stats.status();
  }
  halves_->stats = std::move(*stats);
  const ArchiveWriteStats& done = halves_->stats;
  if (two_passes_ && done.journal_not_used.empty())
    spdlog::info("second pass: {} entries archived again, {} vanished ({} paths changed since the "
                 "first pass; only their directories were read)",
                 done.second_pass, done.vanished, done.journal_paths);
  else if (two_passes_)
    spdlog::info("second pass: {} entries archived again, {} vanished (every entry stat'ed: {})",
                 done.second_pass, done.vanished, done.journal_not_used);
  if (done.racy_read_again > 0)
    spdlog::info("second pass: {} files written within {} s of the first pass reading them were "
                 "read again ({}), as their times cannot tell whether what was read is what "
                 "they hold",
                 done.racy_read_again, kRacyWindowNs / 1000000000,
                 FormatBytes(done.racy_bytes_read_again));
  return Status::Ok();
}

Result<ManifestDatadir> DatadirCapture::Finish(std::optional<ManifestIndex>& index) {
  Halves& h = *halves_;
  Status status = h.upload->Finish().status();
  if (status.ok() && two_passes_) status = h.archiver->WriteIndex();
  Result<ManifestIndex> stored = status.ok() ? h.index.Finish() : Result<ManifestIndex>(status);
  if (!stored.ok()) {
    Abort(stored.status());
    return stored.status();
  }
  index = std::move(*stored);
  const ArchiveWriteStats& stats = h.stats;
  ManifestDatadir datadir = std::move(h.datadir);
  datadir.sha256 = h.upload->sha256_hex();
  datadir.encrypted = h.upload->encrypted();
  datadir.bytes = h.upload->stored_bytes();
  datadir.files = stats.entries;
  datadir.source_bytes = stats.source_bytes;
  datadir.vanished = stats.vanished;
  datadir.excluded = request_->context->config.backup.exclude;
  datadir.changed_while_read = stats.changed_while_read;
  datadir.vanished_while_read = stats.vanished_while_read;
  for (const auto& path : stats.changed_while_read)
    spdlog::warn("online backup: {} changed while it was read", path);
  for (const auto& path : stats.vanished_while_read)
    spdlog::warn("online backup: {} vanished while it was read", path);
  halves_->archiver.reset();
  halves_.reset();
  return datadir;
}

}  // namespace gb
