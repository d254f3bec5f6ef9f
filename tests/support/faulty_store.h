// FaultyStore: a Store that forwards to a real one and fails the calls a test chooses, by key
// (the Store seam's counterpart of a fault-injecting Env). Install it in a command through
// GlobalOptions::wrap_store. Thread-safe as long as the predicates are.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "store/store.h"

namespace gb::testing {

class FaultyStore : public Store {
 public:
  using KeyPredicate = std::function<bool(const std::string& key)>;

  explicit FaultyStore(std::unique_ptr<Store> inner) : inner_(std::move(inner)) {}

  KeyPredicate fail_put;     // Put and CreateIfAbsent
  KeyPredicate fail_get;
  KeyPredicate fail_delete;

  std::string Describe() const override { return inner_->Describe(); }
  Result<ObjectInfo> Put(const std::string& key, ByteSource& source) override {
    if (fail_put && fail_put(key)) return Injected("writing", key);
    return inner_->Put(key, source);
  }
  Status Get(const std::string& key, uint64_t offset, uint64_t length, ByteSink& sink) override {
    if (fail_get && fail_get(key)) return Injected("reading", key);
    return inner_->Get(key, offset, length, sink);
  }
  Result<std::vector<ObjectInfo>> List(const std::string& prefix) override {
    return inner_->List(prefix);
  }
  Result<HeadResult> Head(const std::string& key) override { return inner_->Head(key); }
  Status Delete(const std::string& key) override {
    if (fail_delete && fail_delete(key)) return Injected("removing", key);
    return inner_->Delete(key);
  }
  Result<CreateOutcome> CreateIfAbsent(const std::string& key, std::string_view content) override {
    if (fail_put && fail_put(key)) return Injected("writing", key);
    return inner_->CreateIfAbsent(key, content);
  }
  Result<CreateProtocol> ProbeCreateProtocol() override { return inner_->ProbeCreateProtocol(); }
  Result<std::vector<PendingWrite>> ListPendingWrites(const std::string& prefix) override {
    return inner_->ListPendingWrites(prefix);
  }
  Status AbortPendingWrite(const PendingWrite& write) override {
    return inner_->AbortPendingWrite(write);
  }

  // A wrapper for GlobalOptions::wrap_store that installs `configure`d faults.
  static std::function<std::unique_ptr<Store>(std::unique_ptr<Store>)> Wrapper(
      std::function<void(FaultyStore&)> configure) {
    return [configure](std::unique_ptr<Store> inner) -> std::unique_ptr<Store> {
      auto store = std::make_unique<FaultyStore>(std::move(inner));
      configure(*store);
      return store;
    };
  }

 private:
  static Status Injected(const char* what, const std::string& key) {
    return Status::Failed(std::string("injected failure ") + what + " " + key);
  }

  std::unique_ptr<Store> inner_;
};

}  // namespace gb::testing
