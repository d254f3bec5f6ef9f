#include "store/s3_xml.h"

#include <libxml/parser.h>
#include <libxml/tree.h>

#include <memory>
#include <mutex>

namespace gb {
namespace {

struct DocFree {
  void operator()(xmlDoc* doc) const { xmlFreeDoc(doc); }
};
using Doc = std::unique_ptr<xmlDoc, DocFree>;

Result<Doc> Parse(const std::string& body, const char* what) {
  static std::once_flag once;
  std::call_once(once, [] { xmlInitParser(); });
  // XML_PARSE_NONET: a response must never make us fetch anything.
  Doc doc(xmlReadMemory(body.data(), static_cast<int>(body.size()), nullptr, nullptr,
                        XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING));
  if (!doc || xmlDocGetRootElement(doc.get()) == nullptr) {
    return Status::Failed(std::string("the S3 endpoint answered with an unreadable ") + what +
                          " (not XML)");
  }
  return doc;
}

bool Named(const xmlNode* node, const char* name) {
  return node->type == XML_ELEMENT_NODE && xmlStrcmp(node->name, BAD_CAST name) == 0;
}

const xmlNode* Child(const xmlNode* parent, const char* name) {
  for (const xmlNode* child = parent->children; child != nullptr; child = child->next) {
    if (Named(child, name)) return child;
  }
  return nullptr;
}

std::string Text(const xmlNode* node) {
  if (node == nullptr) return "";
  xmlChar* content = xmlNodeGetContent(node);
  std::string text = content == nullptr ? "" : reinterpret_cast<const char*>(content);
  xmlFree(content);
  return text;
}

std::string ChildText(const xmlNode* parent, const char* name) {
  return Text(Child(parent, name));
}

uint64_t ToSize(const std::string& text) {
  try {
    return std::stoull(text);
  } catch (const std::exception&) {
    return 0;
  }
}

}  // namespace

std::string Unquote(const std::string& etag) {
  if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') {
    return etag.substr(1, etag.size() - 2);
  }
  return etag;
}

S3ErrorBody ParseS3Error(const std::string& body) {
  Result<Doc> doc = Parse(body, "error");
  if (!doc.ok()) return {};
  const xmlNode* root = xmlDocGetRootElement(doc->get());
  if (!Named(root, "Error")) return {};
  return {ChildText(root, "Code"), ChildText(root, "Message")};
}

Result<S3ObjectPage> ParseListObjectsV2(const std::string& body) {
  GB_ASSIGN_OR_RETURN(Doc doc, Parse(body, "object listing"));
  const xmlNode* root = xmlDocGetRootElement(doc.get());
  if (!Named(root, "ListBucketResult")) {
    return Status::Failed("the S3 endpoint answered a listing with an unexpected document");
  }
  S3ObjectPage page;
  page.truncated = ChildText(root, "IsTruncated") == "true";
  page.next_continuation_token = ChildText(root, "NextContinuationToken");
  for (const xmlNode* child = root->children; child != nullptr; child = child->next) {
    if (!Named(child, "Contents")) continue;
    page.objects.push_back({ChildText(child, "Key"), ToSize(ChildText(child, "Size")),
                            Unquote(ChildText(child, "ETag"))});
  }
  return page;
}

Result<S3UploadPage> ParseListMultipartUploads(const std::string& body) {
  GB_ASSIGN_OR_RETURN(Doc doc, Parse(body, "multipart upload listing"));
  const xmlNode* root = xmlDocGetRootElement(doc.get());
  if (!Named(root, "ListMultipartUploadsResult")) {
    return Status::Failed("the S3 endpoint answered an upload listing with an unexpected document");
  }
  S3UploadPage page;
  page.truncated = ChildText(root, "IsTruncated") == "true";
  page.next_key_marker = ChildText(root, "NextKeyMarker");
  page.next_upload_id_marker = ChildText(root, "NextUploadIdMarker");
  for (const xmlNode* child = root->children; child != nullptr; child = child->next) {
    if (!Named(child, "Upload")) continue;
    page.uploads.push_back({ChildText(child, "Key"), ChildText(child, "UploadId"),
                            ChildText(child, "Initiated")});
  }
  return page;
}

Result<std::string> ParseInitiateMultipartUpload(const std::string& body) {
  GB_ASSIGN_OR_RETURN(Doc doc, Parse(body, "multipart upload start"));
  const xmlNode* root = xmlDocGetRootElement(doc.get());
  const std::string upload_id =
      Named(root, "InitiateMultipartUploadResult") ? ChildText(root, "UploadId") : "";
  if (upload_id.empty()) {
    return Status::Failed("the S3 endpoint started a multipart upload without an upload id");
  }
  return upload_id;
}

Result<bool> ParseObjectLockEnabled(const std::string& body) {
  GB_ASSIGN_OR_RETURN(Doc doc, Parse(body, "Object Lock configuration"));
  const xmlNode* root = xmlDocGetRootElement(doc.get());
  if (!Named(root, "ObjectLockConfiguration")) {
    return Status::Failed("the S3 endpoint answered an Object Lock query with an unexpected "
                          "document");
  }
  return ChildText(root, "ObjectLockEnabled") == "Enabled";
}

std::string CompleteMultipartUploadBody(const std::vector<std::string>& etags) {
  std::string body = "<CompleteMultipartUpload>";
  for (size_t i = 0; i < etags.size(); ++i) {
    // ETags are hex digits, quotes and "-": nothing to escape.
    body += "<Part><PartNumber>" + std::to_string(i + 1) + "</PartNumber><ETag>\"" +
            Unquote(etags[i]) + "\"</ETag></Part>";
  }
  return body + "</CompleteMultipartUpload>";
}

std::string RetentionBody(const std::string& mode, const std::string& retain_until) {
  // Both are ours (a fixed word, a formatted date): nothing to escape.
  return "<Retention xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Mode>" + mode +
         "</Mode><RetainUntilDate>" + retain_until + "</RetainUntilDate></Retention>";
}

}  // namespace gb
