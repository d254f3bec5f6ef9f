// LocalStore: a Store on a local directory. A key is a path under the root; objects are
// written to a temporary file beside their final name, fsynced, then renamed (Put) or
// hard-linked (CreateIfAbsent: link(2) fails with EEXIST, so it is atomic) into place.
// Temporary files start with ".tmp-" and are never listed.
//
// Thread-safety: safe to use from several threads; the file system serializes the writers.
#pragma once

#include <string>

#include "store/store.h"

namespace gb {

class LocalStore : public Store {
 public:
  // `root` must exist.
  explicit LocalStore(std::string root);

  std::string Describe() const override { return root_; }
  Result<ObjectInfo> Put(const std::string& key, ByteSource& source) override;
  Status Get(const std::string& key, uint64_t offset, uint64_t length, ByteSink& sink) override;
  Result<std::vector<ObjectInfo>> List(const std::string& prefix) override;
  Result<HeadResult> Head(const std::string& key) override;
  Status Delete(const std::string& key) override;
  Result<CreateOutcome> CreateIfAbsent(const std::string& key,
                                       std::string_view content) override;
  Result<CreateProtocol> ProbeCreateProtocol() override;

 private:
  // Creates the key's parent directories; returns the key's path.
  Result<std::string> PrepareParent(const std::string& key);
  // Fills a fresh temporary file beside `path` from `source` and fsyncs it.
  Result<std::string> WriteTemporary(const std::string& path, ByteSource& source,
                                     uint64_t* size);

  std::string root_;
};

}  // namespace gb
