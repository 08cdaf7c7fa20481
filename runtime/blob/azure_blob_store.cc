#include "runtime/blob/azure_blob_store.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "runtime/blob/azure_auth.h"
#include "runtime/blob/random_id.h"
#include "runtime/crypto/digest.h"

namespace zarc::blob {
namespace {

std::string EncodeName(absl::string_view name) {
  std::vector<std::string> segments;
  for (absl::string_view segment : absl::StrSplit(name, '/')) {
    segments.push_back(http::PercentEncode(segment));
  }
  return absl::StrJoin(segments, "/");
}

std::string Header(const http::ClientResponse& response, absl::string_view name) {
  return http::FindHeader(response.headers, name).value_or("");
}

// Appends code point `code` as UTF-8; false (nothing appended) for one XML cannot hold: NUL, a
// surrogate, or past U+10FFFF.
bool AppendUtf8(uint32_t code, std::string& out) {
  if (code == 0 || (code >= 0xD800 && code <= 0xDFFF) || code > 0x10FFFF) return false;
  if (code < 0x80) {
    out.push_back(static_cast<char>(code));
  } else if (code < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (code >> 6)));
    out.push_back(static_cast<char>(0x80 | (code & 0x3F)));
  } else if (code < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (code >> 12)));
    out.push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (code & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (code >> 18)));
    out.push_back(static_cast<char>(0x80 | ((code >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (code & 0x3F)));
  }
  return true;
}

// XML's five entities and character references (&#233; &#xE9; &#x1F600;). Anything else, and a
// reference to a character XML cannot hold, stays as written.
std::string XmlUnescape(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '&') {
      out.push_back(text[i]);
      continue;
    }
    const size_t semi = text.find(';', i);
    if (semi == absl::string_view::npos) {
      out.push_back('&');
      continue;
    }
    const absl::string_view entity = text.substr(i + 1, semi - i - 1);
    uint32_t code = 0;
    if (entity == "amp") out.push_back('&');
    else if (entity == "lt") out.push_back('<');
    else if (entity == "gt") out.push_back('>');
    else if (entity == "quot") out.push_back('"');
    else if (entity == "apos") out.push_back('\'');
    else if (absl::StartsWith(entity, "#x") && absl::SimpleHexAtoi(entity.substr(2), &code) &&
             AppendUtf8(code, out)) {
    } else if (absl::StartsWith(entity, "#") && !absl::StartsWith(entity, "#x") &&
               absl::SimpleAtoi(entity.substr(1), &code) && AppendUtf8(code, out)) {
    } else {
      out.append(text.data() + i, semi - i + 1);
    }
    i = semi;
  }
  return out;
}

// The text of the first <tag ...>text</tag> in `xml` (nullopt if absent; "" for <tag/>), and
// whether the element had Encoded="true".
std::optional<std::string> ElementText(absl::string_view xml, absl::string_view tag,
                                       bool* encoded = nullptr) {
  const std::string open = absl::StrCat("<", tag);
  size_t at = 0;
  while ((at = xml.find(open, at)) != absl::string_view::npos) {
    const size_t after = at + open.size();
    if (after < xml.size() && (xml[after] == '>' || xml[after] == ' ' || xml[after] == '/')) break;
    at = after;
  }
  if (at == absl::string_view::npos) return std::nullopt;
  const size_t close_angle = xml.find('>', at);
  if (close_angle == absl::string_view::npos) return std::nullopt;
  const absl::string_view attributes = xml.substr(at + open.size(), close_angle - at - open.size());
  if (encoded != nullptr) *encoded = absl::StrContains(attributes, "Encoded=\"true\"");
  if (absl::EndsWith(attributes, "/")) return std::string();
  const size_t end = xml.find(absl::StrCat("</", tag, ">"), close_angle);
  if (end == absl::string_view::npos) return std::nullopt;
  return XmlUnescape(xml.substr(close_angle + 1, end - close_angle - 1));
}

// Appends into a string's reserved capacity; refuses to grow it.
class ReservedSink final : public io::ByteSink {
 public:
  explicit ReservedSink(std::string& out) : out_(out) {}
  absl::Status Write(absl::string_view bytes) override {
    if (out_.size() + bytes.size() > out_.capacity()) {
      return absl::DataLossError("Get Blob returned more bytes than the range asked for");
    }
    out_.append(bytes.data(), bytes.size());
    return absl::OkStatus();
  }
  absl::Status Close() override { return absl::OkStatus(); }

 private:
  std::string& out_;
};

// Reads a blob in ranged Get Blob calls of read_chunk_size, pinned to the ETag seen at Open so a
// blob replaced mid-read fails instead of mixing versions.
class AzureSource final : public io::ByteSource {
 public:
  AzureSource(AzureBlobStore& store, std::string name, uint64_t size, std::string etag)
      : store_(store), name_(std::move(name)), size_(size), etag_(std::move(etag)) {}

  absl::StatusOr<size_t> Read(char* buffer, size_t size) override {
    if (consumed_ == chunk_.size()) {
      if (offset_ >= size_) return 0;
      const uint64_t last = std::min<uint64_t>(size_, offset_ + store_.options().read_chunk_size) - 1;
      http::ClientRequest request;
      request.url = store_.Url(name_, "");
      request.headers = {{"x-ms-range", absl::StrCat("bytes=", offset_, "-", last)},
                         {"If-Match", etag_}};
      // One buffer, allocated once here and refilled per range: bounded memory, and no large
      // allocations on the HTTP client's threads.
      chunk_.clear();
      chunk_.reserve(store_.options().read_chunk_size);
      ReservedSink sink(chunk_);
      absl::StatusOr<http::ClientResponse> response = store_.CallStreaming(request, sink);
      if (!response.ok()) return response.status();
      if (response->status == 412) {
        return absl::AbortedError(absl::StrCat("blob ", name_, " changed while being read; read it again"));
      }
      if (response->status != 206 && response->status != 200) {
        return AzureError(*response, "Get Blob", name_);
      }
      if (chunk_.size() != last - offset_ + 1) {
        return absl::DataLossError(absl::StrCat("Get Blob ", name_, " returned ", chunk_.size(),
                                                " bytes for a range of ", last - offset_ + 1));
      }
      consumed_ = 0;
      offset_ = last + 1;
    }
    const size_t n = std::min(size, chunk_.size() - consumed_);
    std::memcpy(buffer, chunk_.data() + consumed_, n);
    consumed_ += n;
    return n;
  }

 private:
  AzureBlobStore& store_;
  const std::string name_;
  const uint64_t size_;
  const std::string etag_;
  uint64_t offset_ = 0;
  std::string chunk_;
  size_t consumed_ = 0;
};

// Buffers at most one block. Up to one block in all: Put Blob at Close(); more: Put Block as each
// block fills, Put Block List at Close(). Uncommitted blocks are invisible and expire on their own.
class AzureWriter final : public BlobWriter {
 public:
  AzureWriter(AzureBlobStore& store, std::string name, std::string content_type)
      : store_(store), name_(std::move(name)), content_type_(std::move(content_type)),
        id_prefix_(RandomHex(8)) {}

  absl::Status Write(absl::string_view bytes) override {
    if (closed_) return absl::FailedPreconditionError(absl::StrCat("blob ", name_, " is closed"));
    if (!failed_.ok()) return failed_;
    hash_.Update(bytes);
    size_ += bytes.size();
    const size_t block_size = store_.options().block_size;
    while (!bytes.empty()) {
      if (buffer_.size() == block_size) {
        if (absl::Status s = PutBlock(); !s.ok()) return failed_ = s;
      }
      if (buffer_.capacity() < block_size) buffer_.reserve(block_size);
      const size_t n = std::min(bytes.size(), block_size - buffer_.size());
      buffer_.append(bytes.data(), n);
      bytes.remove_prefix(n);
    }
    return absl::OkStatus();
  }

  absl::Status Close() override {
    if (closed_) return absl::FailedPreconditionError(absl::StrCat("blob ", name_, " is closed"));
    closed_ = true;
    if (!failed_.ok()) return failed_;
    const std::string sha256 = hash_.FinishHex();
    http::ClientRequest request;
    request.method = "PUT";
    if (block_ids_.empty()) {
      request.url = store_.Url(name_, "");
      request.headers = {{"x-ms-blob-type", "BlockBlob"},
                         {"If-None-Match", "*"},
                         {"Content-Type", content_type_},
                         {"x-ms-meta-sha256", sha256}};
      request.body.swap(buffer_);
    } else {
      if (!buffer_.empty()) {
        if (absl::Status s = PutBlock(); !s.ok()) return s;
      }
      request.url = store_.Url(name_, "comp=blocklist");
      request.headers = {{"If-None-Match", "*"},
                         {"Content-Type", "application/xml"},
                         {"x-ms-blob-content-type", content_type_},
                         {"x-ms-meta-sha256", sha256}};
      request.body = R"(<?xml version="1.0" encoding="utf-8"?><BlockList>)";
      for (const std::string& id : block_ids_) absl::StrAppend(&request.body, "<Latest>", id, "</Latest>");
      absl::StrAppend(&request.body, "</BlockList>");
    }
    buffer_ = std::string();
    absl::StatusOr<http::ClientResponse> response = store_.Call(request);
    if (!response.ok()) return response.status();
    if (response->status == 409 || response->status == 412) {
      return absl::AlreadyExistsError(absl::StrCat("blob ", name_, " exists"));
    }
    if (response->status != 201) {
      return AzureError(*response, block_ids_.empty() ? "Put Blob" : "Put Block List", name_);
    }
    info_ = BlobInfo{name_, size_, sha256, content_type_};
    return absl::OkStatus();
  }

  const BlobInfo& info() const override { return info_; }

 private:
  absl::Status PutBlock() {
    if (block_ids_.size() >= static_cast<size_t>(AzureBlobStore::kMaxBlocks)) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "blob ", name_, " needs more than ", AzureBlobStore::kMaxBlocks, " blocks of ",
          store_.options().block_size, " bytes; raise the block size"));
    }
    char index[8];
    std::snprintf(index, sizeof index, "%06zu", block_ids_.size());
    // Same length for every ID (Azure requires it); the random prefix keeps concurrent writers of
    // one name from committing each other's blocks.
    std::string id = crypto::Base64Encode(absl::StrCat(id_prefix_, "-", index));
    http::ClientRequest request;
    request.method = "PUT";
    request.url = store_.Url(name_, absl::StrCat("comp=block&blockid=", http::PercentEncode(id)));
    request.headers = {{"Content-Type", "application/octet-stream"}};
    // Lend the block buffer to the request and take it back: one allocation for the whole blob.
    request.body.swap(buffer_);
    absl::StatusOr<http::ClientResponse> response = store_.Call(request);
    buffer_.swap(request.body);
    buffer_.clear();
    if (!response.ok()) return response.status();
    if (response->status != 201) return AzureError(*response, "Put Block", name_);
    block_ids_.push_back(std::move(id));
    return absl::OkStatus();
  }

  AzureBlobStore& store_;
  const std::string name_;
  const std::string content_type_;
  const std::string id_prefix_;
  std::string buffer_;
  std::vector<std::string> block_ids_;
  crypto::Sha256 hash_;
  uint64_t size_ = 0;
  bool closed_ = false;
  absl::Status failed_;
  BlobInfo info_;
};

}  // namespace

absl::Status AzureError(const http::ClientResponse& response, absl::string_view operation,
                        absl::string_view name) {
  const std::string code = Header(response, "x-ms-error-code");
  std::string detail = ElementText(response.body, "Message").value_or("");
  // Keep the first sentence: later ones may quote the string-to-sign.
  detail = std::string(absl::string_view(detail).substr(0, detail.find_first_of(".\n")));
  const std::string message =
      absl::StrCat(operation, " ", name.empty() ? "(container)" : name, " answered HTTP ",
                   response.status, code.empty() ? "" : absl::StrCat(" ", code),
                   detail.empty() ? "" : absl::StrCat(": ", detail));
  switch (response.status) {
    case 400:
      return absl::InvalidArgumentError(message);
    case 401:
    case 403:
      return absl::PermissionDeniedError(absl::StrCat(
          message, "; check the account name and key, the SAS token's permissions and expiry, or "
                   "that the Entra ID identity has the Storage Blob Data Contributor role"));
    case 404:
      return absl::NotFoundError(message);
    case 409:
    case 412:
      return absl::FailedPreconditionError(message);
    case 429:
    case 500:
    case 502:
    case 503:
    case 504:
      return absl::UnavailableError(absl::StrCat(message, "; the storage service is busy, try later"));
    default:
      return absl::UnknownError(message);
  }
}

absl::StatusOr<ListPage> ParseListBlobs(absl::string_view xml) {
  if (!absl::StrContains(xml, "<EnumerationResults")) {
    return absl::DataLossError("List Blobs answer is not an EnumerationResults document");
  }
  ListPage page;
  size_t at = 0;
  while ((at = xml.find("<Blob>", at)) != absl::string_view::npos) {
    const size_t end = xml.find("</Blob>", at);
    if (end == absl::string_view::npos) return absl::DataLossError("List Blobs answer is truncated");
    const absl::string_view blob = xml.substr(at, end - at);
    at = end;
    bool encoded = false;
    std::optional<std::string> name = ElementText(blob, "Name", &encoded);
    if (!name.has_value()) return absl::DataLossError("List Blobs entry without a Name");
    BlobInfo info;
    info.name = encoded ? http::PercentDecode(*name) : *name;
    const std::string length = ElementText(blob, "Content-Length").value_or("0");
    if (!absl::SimpleAtoi(length, &info.size)) {
      return absl::DataLossError(absl::StrCat("List Blobs entry ", info.name, " has Content-Length '", length, "'"));
    }
    info.content_type = ElementText(blob, "Content-Type").value_or("");
    if (std::optional<std::string> metadata = ElementText(blob, "Metadata")) {
      info.sha256 = ElementText(*metadata, "sha256").value_or("");
    }
    page.blobs.push_back(std::move(info));
  }
  page.next_marker = ElementText(xml, "NextMarker").value_or("");
  return page;
}

AzureBlobStore::AzureBlobStore(AzureBlobOptions options, std::unique_ptr<http::HttpClient> owned,
                               http::HttpClient* client, http::RetryPolicy retry)
    : options_(std::move(options)), owned_client_(std::move(owned)),
      client_(client != nullptr ? *client : *owned_client_, std::move(retry)) {}

absl::StatusOr<std::unique_ptr<AzureBlobStore>> AzureBlobStore::Connect(
    const AzureBlobOptions& options, http::HttpClient* client, http::RetryPolicy retry) {
  AzureBlobOptions checked = options;
  if (checked.account.empty() || checked.container.empty()) {
    return absl::InvalidArgumentError(
        "Azure blob store needs an account and a container name (e.g. account=zarcarchive, "
        "container=zarc-staging)");
  }
  if (!checked.shared_key.empty() && !checked.sas_token.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Azure blob store for account ", checked.account,
        " has both a shared key and a SAS token: give one, or neither for Entra ID"));
  }
  if (!checked.shared_key.empty() && !crypto::Base64Decode(checked.shared_key).ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the storage account key for ", checked.account,
        " is not valid base64; copy key1 or key2 from the storage account's Access keys"));
  }
  if (checked.block_size == 0 || checked.block_size > 4000u * 1024 * 1024 || checked.read_chunk_size == 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Azure block size ", checked.block_size, " and read chunk size ", checked.read_chunk_size,
        " must be positive; blocks at most 4000 MiB"));
  }
  checked.sas_token = std::string(absl::StripPrefix(checked.sas_token, "?"));
  if (checked.endpoint.empty()) {
    checked.endpoint = absl::StrCat("https://", checked.account, ".blob.core.windows.net");
  }
  while (!checked.endpoint.empty() && checked.endpoint.back() == '/') checked.endpoint.pop_back();
  std::optional<entra::Credentials> entra_credentials;
  if (checked.shared_key.empty() && checked.sas_token.empty()) {
    absl::StatusOr<entra::Credentials> c = AzureEntraCredentials(checked, [](const char* name) {
      return std::getenv(name);
    });
    if (!c.ok()) return c.status();
    // A bearer token goes only to the storage endpoint, and only over TLS.
    if (!absl::StartsWith(checked.endpoint, "https://")) {
      return absl::InvalidArgumentError(absl::StrCat(
          "Azure blob endpoint ", checked.endpoint, " is not https: Entra ID tokens are sent "
          "over TLS only (Azure Storage refuses them over HTTP too)"));
    }
    entra_credentials = *std::move(c);
  }
  std::unique_ptr<http::HttpClient> owned;
  if (client == nullptr) owned = http::NewHttpClient({.ca_file = checked.ca_file});
  auto store = std::unique_ptr<AzureBlobStore>(
      new AzureBlobStore(std::move(checked), std::move(owned), client, std::move(retry)));
  if (entra_credentials.has_value()) {
    // The identity platform and IMDS are public (or link-local) hosts: no private CA of the
    // storage endpoint is needed there, but tests give the same file.
    store->token_client_ = http::NewHttpClient({.ca_file = store->options_.ca_file});
    store->tokens_ = std::make_unique<entra::TokenSource>(
        *store->token_client_, *std::move(entra_credentials), kAzureStorageScope);
  }
  return store;
}

absl::StatusOr<entra::Credentials> AzureEntraCredentials(
    const AzureBlobOptions& options, const std::function<const char*(const char*)>& getenv) {
  auto env = [&](const std::string& given, const char* name) {
    if (!given.empty()) return given;
    const char* value = getenv(name);
    return std::string(value != nullptr ? value : "");
  };
  const AzureBlobOptions::Entra& e = options.entra;
  entra::Credentials c;
  c.login_url = env(e.authority_host, "AZURE_AUTHORITY_HOST");
  if (c.login_url.empty()) c.login_url = "https://login.microsoftonline.com";
  while (!c.login_url.empty() && c.login_url.back() == '/') c.login_url.pop_back();
  c.tenant_id = env(e.tenant_id, "AZURE_TENANT_ID");
  c.client_id = env(e.client_id, "AZURE_CLIENT_ID");
  const std::string federated = env(e.federated_token_file, "AZURE_FEDERATED_TOKEN_FILE");
  const std::string secret = env(e.client_secret, "AZURE_CLIENT_SECRET");
  const std::string certificate = env(e.certificate_file, "AZURE_CLIENT_CERTIFICATE_PATH");
  std::string identity = options.identity.empty() ? "auto" : options.identity;
  if (identity == "auto") {
    identity = !federated.empty()                             ? "workload-identity"
               : (!secret.empty() || !certificate.empty()) ? "client-credentials"
                                                             : "managed-identity";
  }
  const std::string account = absl::StrCat("Azure blob store for account ", options.account);
  if (identity == "managed-identity") {
    c.managed_identity = true;
    const std::string imds = env(e.imds_endpoint, "AZURE_IMDS_ENDPOINT");
    if (!imds.empty()) c.imds_endpoint = imds;
    c.settings = "that the pod or VM has a managed identity (AZURE_CLIENT_ID names a "
                 "user-assigned one) with the Storage Blob Data Contributor role";
    return c;
  }
  if (c.tenant_id.empty() || c.client_id.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        account, " has no key or SAS, so it uses Entra ID (", identity,
        "), which needs AZURE_TENANT_ID and AZURE_CLIENT_ID"));
  }
  if (identity == "workload-identity") {
    if (federated.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          account, " uses workload identity, which needs AZURE_FEDERATED_TOKEN_FILE (set by the "
                   "workload identity webhook for pods labelled azure.workload.identity/use)"));
    }
    c.federated_token_file = federated;
    c.settings = "AZURE_TENANT_ID, AZURE_CLIENT_ID and the federated credential of that app or "
                 "managed identity (issuer, subject system:serviceaccount:NAMESPACE:NAME)";
    return c;
  }
  if (identity != "client-credentials") {
    return absl::InvalidArgumentError(absl::StrCat(
        account, ": identity \"", identity,
        "\" is not one of auto, workload-identity, managed-identity, client-credentials"));
  }
  if (secret.empty() == certificate.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        account, " uses client credentials, which need one of AZURE_CLIENT_SECRET and "
                 "AZURE_CLIENT_CERTIFICATE_PATH"));
  }
  c.client_secret = secret;
  c.certificate_file = certificate;
  c.settings = certificate.empty()
                   ? "AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET"
                   : "AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_CERTIFICATE_PATH (its "
                     "certificate must be registered on the app)";
  return c;
}

std::string AzureBlobStore::Url(absl::string_view name, absl::string_view query) const {
  std::string url = absl::StrCat(options_.endpoint, "/", options_.container);
  if (!name.empty()) absl::StrAppend(&url, "/", EncodeName(name));
  const char* separator = "?";
  if (!query.empty()) {
    absl::StrAppend(&url, separator, query);
    separator = "&";
  }
  if (!options_.sas_token.empty()) absl::StrAppend(&url, separator, options_.sas_token);
  return url;
}

std::string AzureBlobStore::Uri(absl::string_view name) const {
  return absl::StrCat(options_.endpoint, "/", options_.container, "/", EncodeName(name));
}

absl::Status AzureBlobStore::Authorize(http::ClientRequest& request, std::string* bearer) const {
  request.headers.emplace_back("x-ms-version", kApiVersion);
  request.headers.emplace_back("x-ms-date", FormatHttpDate(absl::Now()));
  if (tokens_ != nullptr) {
    absl::StatusOr<std::string> token = tokens_->Token();
    if (!token.ok()) {
      return absl::UnavailableError(absl::StrCat("no Entra ID token for Azure storage account ",
                                                 options_.account, ": ", token.status().message()));
    }
    request.headers.emplace_back("Authorization", absl::StrCat("Bearer ", *token));
    *bearer = *std::move(token);
    return absl::OkStatus();
  }
  if (options_.shared_key.empty()) return absl::OkStatus();  // the SAS is in the URL
  absl::StatusOr<std::string> authorization =
      SharedKeyAuthorization(options_.account, options_.shared_key, request);
  if (!authorization.ok()) return authorization.status();
  request.headers.emplace_back("Authorization", *std::move(authorization));
  return absl::OkStatus();
}

void AzureBlobStore::Answered(const absl::StatusOr<http::ClientResponse>& response,
                              const std::string& bearer) {
  // A token refused before its expiry (revoked, or the role assignment changed): the next call
  // asks for a fresh one.
  if (tokens_ != nullptr && response.ok() && response->status == 401) tokens_->Invalidate(bearer);
}

absl::StatusOr<http::ClientResponse> AzureBlobStore::Call(http::ClientRequest& request) {
  std::string bearer;
  if (absl::Status s = Authorize(request, &bearer); !s.ok()) return s;
  absl::StatusOr<http::ClientResponse> response = client_.Send(request);
  Answered(response, bearer);
  return response;
}

absl::StatusOr<http::ClientResponse> AzureBlobStore::CallStreaming(http::ClientRequest& request,
                                                                   io::ByteSink& sink) {
  std::string bearer;
  if (absl::Status s = Authorize(request, &bearer); !s.ok()) return s;
  absl::StatusOr<http::ClientResponse> response = client_.SendStreaming(request, sink);
  Answered(response, bearer);
  return response;
}

absl::Status AzureBlobStore::EnsureContainer() {
  http::ClientRequest request;
  request.method = "PUT";
  request.url = Url("", "restype=container");
  absl::StatusOr<http::ClientResponse> response = Call(request);
  if (!response.ok()) return response.status();
  if (response->status == 201 || response->status == 409) return absl::OkStatus();
  return AzureError(*response, "Create Container", options_.container);
}

absl::StatusOr<std::unique_ptr<BlobWriter>> AzureBlobStore::Create(absl::string_view name,
                                                                   const WriteOptions& options) {
  if (absl::Status s = ValidateBlobName(name); !s.ok()) return s;
  return std::unique_ptr<BlobWriter>(
      std::make_unique<AzureWriter>(*this, std::string(name), options.content_type));
}

absl::StatusOr<AzureBlobStore::Properties> AzureBlobStore::GetProperties(absl::string_view name) {
  if (absl::Status s = ValidateBlobName(name); !s.ok()) return s;
  http::ClientRequest request;
  request.method = "HEAD";
  request.url = Url(name, "");
  absl::StatusOr<http::ClientResponse> response = Call(request);
  if (!response.ok()) return response.status();
  if (response->status == 404) return absl::NotFoundError(absl::StrCat("blob ", name, " not found"));
  if (response->status != 200) return AzureError(*response, "Get Blob Properties", name);
  Properties properties;
  properties.info.name = std::string(name);
  const std::string length = Header(*response, "Content-Length");
  if (!absl::SimpleAtoi(length, &properties.info.size)) {
    return absl::DataLossError(absl::StrCat("Get Blob Properties ", name, " has Content-Length '", length, "'"));
  }
  properties.info.content_type = Header(*response, "Content-Type");
  properties.info.sha256 = Header(*response, "x-ms-meta-sha256");
  properties.etag = Header(*response, "ETag");
  properties.copy_status = Header(*response, "x-ms-copy-status");
  return properties;
}

absl::StatusOr<BlobInfo> AzureBlobStore::Stat(absl::string_view name) {
  absl::StatusOr<Properties> properties = GetProperties(name);
  if (!properties.ok()) return properties.status();
  return std::move(properties->info);
}

absl::StatusOr<std::unique_ptr<io::ByteSource>> AzureBlobStore::Open(absl::string_view name) {
  absl::StatusOr<Properties> properties = GetProperties(name);
  if (!properties.ok()) return properties.status();
  return std::unique_ptr<io::ByteSource>(std::make_unique<AzureSource>(
      *this, std::string(name), properties->info.size, properties->etag));
}

absl::StatusOr<std::vector<BlobInfo>> AzureBlobStore::List(absl::string_view prefix) {
  std::vector<BlobInfo> out;
  std::string marker;
  do {
    std::string query = "restype=container&comp=list&include=metadata";
    if (!prefix.empty()) absl::StrAppend(&query, "&prefix=", http::PercentEncode(prefix));
    if (!marker.empty()) absl::StrAppend(&query, "&marker=", http::PercentEncode(marker));
    http::ClientRequest request;
    request.url = Url("", query);
    absl::StatusOr<http::ClientResponse> response = Call(request);
    if (!response.ok()) return response.status();
    if (response->status != 200) return AzureError(*response, "List Blobs", prefix);
    absl::StatusOr<ListPage> page = ParseListBlobs(response->body);
    if (!page.ok()) return page.status();
    for (BlobInfo& info : page->blobs) out.push_back(std::move(info));
    marker = std::move(page->next_marker);
  } while (!marker.empty());
  std::sort(out.begin(), out.end(),
            [](const BlobInfo& a, const BlobInfo& b) { return a.name < b.name; });
  return out;
}

absl::Status AzureBlobStore::Delete(absl::string_view name) {
  if (absl::Status s = ValidateBlobName(name); !s.ok()) return s;
  http::ClientRequest request;
  request.method = "DELETE";
  request.url = Url(name, "");
  absl::StatusOr<http::ClientResponse> response = Call(request);
  if (!response.ok()) return response.status();
  if (response->status == 404) return absl::NotFoundError(absl::StrCat("blob ", name, " not found"));
  if (response->status != 202) return AzureError(*response, "Delete Blob", name);
  return absl::OkStatus();
}

absl::Status AzureBlobStore::Move(absl::string_view from, absl::string_view to) {
  if (absl::Status s = ValidateBlobName(from); !s.ok()) return s;
  if (absl::Status s = ValidateBlobName(to); !s.ok()) return s;
  http::ClientRequest request;
  request.method = "PUT";
  request.url = Url(to, "");
  // Same account: the destination's SharedKey authorizes reading the source; with SAS auth the
  // source URL carries the SAS.
  request.headers = {{"x-ms-copy-source", Url(from, "")}, {"If-None-Match", "*"}};
  absl::StatusOr<http::ClientResponse> response = Call(request);
  if (!response.ok()) return response.status();
  if (response->status == 409 || response->status == 412) {
    return absl::AlreadyExistsError(absl::StrCat("blob ", to, " exists"));
  }
  if (response->status == 404) return absl::NotFoundError(absl::StrCat("blob ", from, " not found"));
  if (response->status != 202 && response->status != 201) {
    return AzureError(*response, "Copy Blob", to);
  }
  std::string copy_status = Header(*response, "x-ms-copy-status");
  // Copies within an account normally finish at once; otherwise poll, backing off to 1 s.
  absl::Duration wait = absl::Milliseconds(50);
  const absl::Time give_up = absl::Now() + absl::Minutes(10);
  while (copy_status == "pending") {
    if (absl::Now() > give_up) {
      return absl::DeadlineExceededError(absl::StrCat(
          "Copy Blob ", from, " to ", to, " still pending after 10 minutes; the copy continues "
          "server-side, retry the move later"));
    }
    absl::SleepFor(wait);
    wait = std::min(wait * 2, absl::Seconds(1));
    absl::StatusOr<Properties> properties = GetProperties(to);
    if (!properties.ok()) return properties.status();
    copy_status = properties->copy_status;
  }
  if (copy_status != "success") {
    return absl::InternalError(absl::StrCat("Copy Blob ", from, " to ", to, " ended with status '",
                                            copy_status, "'"));
  }
  return Delete(from);
}

}  // namespace zarc::blob
