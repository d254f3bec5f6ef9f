#include "store/store.h"

#include "io/text.h"

namespace gb {

const char* CreateProtocolName(CreateProtocol protocol) {
  switch (protocol) {
    case CreateProtocol::kConditionalCreate:
      return "conditional-create";
    case CreateProtocol::kListBased:
      return "list-based";
  }
  return "unknown";
}

Status CheckKey(const std::string& key) {
  const auto bad = [&key](const std::string& why) {
    return Status::Usage("invalid store key \"" + key + "\": " + why,
                         "keys use only letters, digits, '.', '_', '-' and '/' between "
                         "non-empty segments");
  };
  if (key.empty()) return bad("empty");
  if (key.front() == '/' || key.back() == '/') return bad("leading or trailing '/'");
  size_t segment_start = 0;
  for (size_t i = 0; i <= key.size(); ++i) {
    if (i == key.size() || key[i] == '/') {
      const std::string segment = key.substr(segment_start, i - segment_start);
      if (segment.empty() || segment == "." || segment == "..") {
        return bad("empty, '.' or '..' segment");
      }
      segment_start = i + 1;
      continue;
    }
    const char c = key[i];
    const bool allowed = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                         (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    if (!allowed) return bad(std::string("character '") + c + "'");
  }
  return Status::Ok();
}

Result<CreateProtocol> ProbeByCreatingTwice(Store& store) {
  const std::string key = "probe-" + RandomHex(8);
  const std::string content = "govern-backup create-if-absent probe\n";
  GB_ASSIGN_OR_RETURN(const CreateOutcome first, store.CreateIfAbsent(key, content));
  Result<CreateOutcome> second = store.CreateIfAbsent(key, content);
  GB_RETURN_IF_ERROR(store.Delete(key));
  if (!second.ok()) return second.status();
  if (first != CreateOutcome::kCreated) {
    return Status::Failed("the probe object " + key + " in " + store.Describe() +
                          " existed before it was created");
  }
  return *second == CreateOutcome::kAlreadyExists ? CreateProtocol::kConditionalCreate
                                                   : CreateProtocol::kListBased;
}

}  // namespace gb
