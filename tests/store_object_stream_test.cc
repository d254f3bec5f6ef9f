// Byte streams into and out of a Store (store/object_stream.h): a half compressed by ZstdWriter
// into an ObjectWriter and read back through an ObjectReader and a ZstdReader, read-ahead
// chunking, header frames through ranged reads, and the guarantee that an uncommitted or
// failed stream leaves nothing behind: no object, no temporary file, no unfinished S3
// multipart upload. Also prints the throughput of the streams against plain file I/O.

#include "store/object_stream.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "io/range_source.h"
#include "io/sha256.h"
#include "io/zstd_file.h"
#include "store/local_store.h"
#include "tests/store_test_util.h"
#include "tests/support/scratch_dir.h"
#include "tests/support/wait.h"

namespace gb {
namespace testing {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

// Every regular file under `root`, relative to it (temporary files included).
std::vector<std::string> FilesUnder(const std::string& root) {
  std::vector<std::string> files;
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    if (entry.is_regular_file()) files.push_back(fs::relative(entry.path(), root).string());
  }
  return files;
}

bool AnyTemporaryFileUnder(const std::string& root) {
  for (const std::string& file : FilesUnder(root)) {
    if (fs::path(file).filename().string().rfind(".tmp-", 0) == 0) return true;
  }
  return false;
}

// Reads `source` to its end in reads of `capacity` bytes.
Result<std::string> ReadAll(ByteSource& source, size_t capacity = 1 << 20) {
  std::string out;
  std::string buffer(capacity, '\0');
  for (;;) {
    GB_ASSIGN_OR_RETURN(const size_t n, source.Read(buffer.data(), buffer.size()));
    if (n == 0) return out;
    out.append(buffer.data(), n);
  }
}

Status WriteInPieces(ByteSink& sink, const std::string& data, size_t piece) {
  for (size_t offset = 0; offset < data.size(); offset += piece) {
    GB_RETURN_IF_ERROR(sink.Write(data.data() + offset, std::min(piece, data.size() - offset)));
  }
  return Status::Ok();
}

struct StoredHalf {
  ObjectInfo info;
  std::string sha256;        // ZstdWriter's, of the compressed bytes
  uint64_t output_bytes = 0;
};

// Compresses `payload` with a header frame into object `key` through an ObjectWriter.
Result<StoredHalf> PutCompressed(Store& store, const std::string& key, const std::string& payload,
                                 const std::string& header_frame) {
  GB_ASSIGN_OR_RETURN(std::unique_ptr<ObjectWriter> object, ObjectWriter::Start(store, key));
  ZstdWriterOptions options;
  options.threads = 2;
  options.header_frame = header_frame;
  GB_ASSIGN_OR_RETURN(std::unique_ptr<ZstdWriter> zstd,
                      ZstdWriter::Create(*object, object->name(), options));
  GB_RETURN_IF_ERROR(WriteInPieces(*zstd, payload, 300001));
  GB_RETURN_IF_ERROR(zstd->Finish());
  GB_ASSIGN_OR_RETURN(ObjectInfo info, object->Commit());
  return StoredHalf{info, zstd->sha256_hex(), zstd->output_bytes()};
}

// Reads object `key` back through an ObjectReader of `chunk` bytes and a ZstdReader.
void ExpectReadsBack(Store& store, const std::string& key, const std::string& payload,
                     const std::string& header_frame, const StoredHalf& stored, size_t chunk) {
  Result<std::unique_ptr<ObjectReader>> object = ObjectReader::Open(store, key, chunk);
  ASSERT_TRUE(object.ok()) << object.status().ToString();
  EXPECT_EQ((*object)->size(), stored.info.size);
  const std::string name = (*object)->name();
  Result<std::unique_ptr<ZstdReader>> zstd = ZstdReader::Open(std::move(object).value(), name);
  ASSERT_TRUE(zstd.ok()) << zstd.status().ToString();
  EXPECT_EQ((*zstd)->header_frame(), header_frame);
  Result<std::string> read = ReadAll(**zstd, 777777);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_TRUE(*read == payload) << "payload differs: " << read->size() << " bytes read";
  EXPECT_EQ((*zstd)->sha256_hex(), stored.sha256);
  EXPECT_EQ((*zstd)->compressed_bytes(), stored.info.size);

  Result<std::unique_ptr<StoreRangeSource>> ranged = StoreRangeSource::Open(store, key);
  ASSERT_TRUE(ranged.ok()) << ranged.status().ToString();
  Result<std::string> frame = ReadHeaderFrame(**ranged);
  ASSERT_TRUE(frame.ok()) << frame.status().ToString();
  EXPECT_EQ(*frame, header_frame);
}

TEST(ObjectStreamTest, AHalfRoundTripsThroughALocalStore) {
  ScratchDir dir;
  LocalStore store(dir.path());
  const std::string payload = PseudoRandomBytes((6 << 20) + 12345, 11);
  const std::string header = "pair_token = \"f00d\"\n";
  Result<StoredHalf> stored = PutCompressed(store, "data/set-1/datadir.tar.zst", payload, header);
  ASSERT_TRUE(stored.ok()) << stored.status().ToString();
  EXPECT_EQ(stored->info.key, "data/set-1/datadir.tar.zst");
  EXPECT_EQ(stored->info.size, stored->output_bytes);
  // What the store holds is what the writer hashed.
  Result<std::string> file_sha = Sha256::OfFile(dir / "data/set-1/datadir.tar.zst");
  ASSERT_TRUE(file_sha.ok()) << file_sha.status().ToString();
  EXPECT_EQ(*file_sha, stored->sha256);
  EXPECT_EQ(FilesUnder(dir.path()), std::vector<std::string>{"data/set-1/datadir.tar.zst"});

  // A chunk smaller than the object that does not divide it.
  ExpectReadsBack(store, "data/set-1/datadir.tar.zst", payload, header, *stored, (1 << 20) + 7);
}

TEST(ObjectStreamTest, ObjectReaderChunksNeedNotDivideTheObject) {
  ScratchDir dir;
  LocalStore store(dir.path());
  const std::string data = PseudoRandomBytes(1000003, 5);
  StringSource source(data);
  ASSERT_TRUE(store.Put("objects/odd", source).ok());
  for (size_t chunk : {size_t{12289}, size_t{1000002}, size_t{1000003}, size_t{8} << 20}) {
    SCOPED_TRACE(chunk);
    Result<std::unique_ptr<ObjectReader>> reader = ObjectReader::Open(store, "objects/odd", chunk);
    ASSERT_TRUE(reader.ok()) << reader.status().ToString();
    EXPECT_EQ((*reader)->size(), data.size());
    Result<std::string> read = ReadAll(**reader, 1000);
    ASSERT_TRUE(read.ok()) << read.status().ToString();
    EXPECT_TRUE(*read == data);
    // The end stays the end.
    char byte;
    Result<size_t> again = (*reader)->Read(&byte, 1);
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(*again, 0u);
  }

  StringSource nothing("");
  ASSERT_TRUE(store.Put("objects/empty", nothing).ok());
  Result<std::unique_ptr<ObjectReader>> empty = ObjectReader::Open(store, "objects/empty");
  ASSERT_TRUE(empty.ok()) << empty.status().ToString();
  Result<std::string> read = ReadAll(**empty);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(*read, "");
}

TEST(ObjectStreamTest, AMissingOrShrunkObjectIsAnErrorNamingIt) {
  ScratchDir dir;
  LocalStore store(dir.path());
  Result<std::unique_ptr<ObjectReader>> reader = ObjectReader::Open(store, "data/absent");
  ASSERT_FALSE(reader.ok());
  EXPECT_NE(reader.status().message().find(dir / "data/absent"), std::string::npos)
      << reader.status().message();
  EXPECT_FALSE(StoreRangeSource::Open(store, "data/absent").ok());

  // Replaced by a shorter object after Open: a Get past its end fails, naming the object.
  StringSource big(PseudoRandomBytes(3 << 20, 2));
  ASSERT_TRUE(store.Put("data/shrinks", big).ok());
  reader = ObjectReader::Open(store, "data/shrinks", 1 << 20);
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  StringSource small("short");
  ASSERT_TRUE(store.Put("data/shrinks", small).ok());
  Result<std::string> read = ReadAll(**reader);
  ASSERT_FALSE(read.ok());
  EXPECT_NE(read.status().message().find("data/shrinks"), std::string::npos)
      << read.status().message();
}

// A reader of many frames reads each into the buffer it keeps: the range replaces what the
// buffer held, in the memory it had, for a stored object and for a local file alike.
TEST(ObjectStreamTest, RangesReadIntoAKeptBufferReuseItsMemory) {
  ScratchDir dir;
  LocalStore store(dir.path());
  const std::string bytes = PseudoRandomBytes(3 << 20, 5);
  StringSource content(bytes);
  ASSERT_TRUE(store.Put("data/frames", content).ok());
  Result<std::unique_ptr<StoreRangeSource>> stored = StoreRangeSource::Open(store, "data/frames");
  ASSERT_TRUE(stored.ok()) << stored.status().ToString();
  Result<std::unique_ptr<FileRangeSource>> file = FileRangeSource::Open(dir / "data/frames");
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  for (RangeSource* source : {static_cast<RangeSource*>(stored->get()),
                              static_cast<RangeSource*>(file->get())}) {
    std::string buffer(2 << 20, 'x');
    const char* memory = buffer.data();
    for (const auto& [offset, length] : {std::pair<uint64_t, size_t>{0, 1 << 20},
                                         {12345, 2 << 20},
                                         {(3 << 20) - 10, 10},
                                         {7, 0}}) {
      ASSERT_TRUE(source->ReadRangeInto(offset, length, &buffer).ok()) << source->name();
      EXPECT_EQ(buffer, bytes.substr(offset, length)) << source->name() << " at " << offset;
      EXPECT_EQ(buffer.data(), memory) << source->name() << ": the buffer was allocated anew";
    }
    Status past = source->ReadRangeInto((3 << 20) - 10, 11, &buffer);
    ASSERT_FALSE(past.ok());
    EXPECT_NE(past.message().find("data/frames"), std::string::npos) << past.message();
  }
}

// A local Get lends its sink a buffer it keeps per thread: a sink that makes a Get of its own
// while it is handed those bytes (on the same thread) must not have them overwritten.
TEST(ObjectStreamTest, AGetFromInsideASinkOfAGetLeavesTheOuterBytesWhole) {
  ScratchDir dir;
  LocalStore store(dir.path());
  const std::string outer = PseudoRandomBytes(3 << 20, 8);
  const std::string inner = PseudoRandomBytes(1 << 20, 9);
  StringSource outer_source(outer);
  StringSource inner_source(inner);
  ASSERT_TRUE(store.Put("data/outer", outer_source).ok());
  ASSERT_TRUE(store.Put("data/inner", inner_source).ok());

  class NestingSink : public ByteSink {
   public:
    explicit NestingSink(Store& store) : store_(store) {}
    Status Write(const void* data, size_t size) override {
      StringSink nested;
      GB_RETURN_IF_ERROR(store_.Get("data/inner", 0, Store::kToEnd, nested));
      inner_reads.push_back(nested.bytes());
      received.append(static_cast<const char*>(data), size);
      return Status::Ok();
    }
    std::string received;
    std::vector<std::string> inner_reads;

   private:
    Store& store_;
  } sink(store);
  ASSERT_TRUE(store.Get("data/outer", 0, Store::kToEnd, sink).ok());
  EXPECT_TRUE(sink.received == outer) << "the outer Get's bytes were overwritten";
  ASSERT_FALSE(sink.inner_reads.empty());
  for (const std::string& read : sink.inner_reads) EXPECT_TRUE(read == inner);
}

TEST(ObjectStreamTest, HeaderFrameThroughRangedReadsEqualsTheFiles) {
  ScratchDir dir;
  LocalStore store(dir.path());
  ASSERT_EQ(::mkdir((dir / "data").c_str(), 0700), 0);
  const std::string data = PseudoRandomBytes(200000, 9);
  std::string key_with_header;
  for (const std::string& header : {std::string("set = \"2024-01-01\"\n"), std::string()}) {
    SCOPED_TRACE(header);
    const std::string key = "data/half-" + std::to_string(header.size()) + ".zst";
    if (!header.empty()) key_with_header = key;
    ZstdWriterOptions options;
    options.header_frame = header;
    Result<std::unique_ptr<ZstdFileWriter>> writer = ZstdFileWriter::Create(dir / key, options);
    ASSERT_TRUE(writer.ok()) << writer.status().ToString();
    ASSERT_TRUE((*writer)->Write(data.data(), data.size()).ok());
    ASSERT_TRUE((*writer)->Finish().ok());

    Result<std::string> from_file = ReadHeaderFrame(dir / key);
    ASSERT_TRUE(from_file.ok()) << from_file.status().ToString();
    Result<std::unique_ptr<StoreRangeSource>> object = StoreRangeSource::Open(store, key);
    ASSERT_TRUE(object.ok()) << object.status().ToString();
    EXPECT_EQ((*object)->size(), (*writer)->file_bytes());
    EXPECT_EQ((*object)->name(), dir / key);
    Result<std::string> from_store = ReadHeaderFrame(**object);
    ASSERT_TRUE(from_store.ok()) << from_store.status().ToString();
    EXPECT_EQ(*from_store, *from_file);
    EXPECT_EQ(*from_store, header);
  }

  // Cut inside its header frame: both say so, naming what they read.
  ASSERT_EQ(::truncate((dir / key_with_header).c_str(), 12), 0);
  Result<std::unique_ptr<StoreRangeSource>> cut = StoreRangeSource::Open(store, key_with_header);
  ASSERT_TRUE(cut.ok()) << cut.status().ToString();
  Result<std::string> frame = ReadHeaderFrame(**cut);
  ASSERT_FALSE(frame.ok());
  EXPECT_NE(frame.status().message().find(dir / key_with_header + " is truncated"),
            std::string::npos) << frame.status().message();
  EXPECT_FALSE(ReadHeaderFrame(dir / key_with_header).ok());
  EXPECT_FALSE((*cut)->ReadRange(10, 3).ok());  // past the end
}

TEST(ObjectStreamTest, AnUncommittedWriterLeavesNoObjectNorTemporaryFile) {
  ScratchDir dir;
  LocalStore store(dir.path());
  const std::string data = PseudoRandomBytes(8 << 20, 4);
  {
    Result<std::unique_ptr<ObjectWriter>> writer = ObjectWriter::Start(store, "data/set-2/dump.zst");
    ASSERT_TRUE(writer.ok()) << writer.status().ToString();
    ASSERT_TRUE(WriteInPieces(**writer, data, 65536).ok());
    // Put has started writing its temporary file: the drop below must remove it.
    ASSERT_TRUE(WaitUntil([&] { return AnyTemporaryFileUnder(dir.path()); }, milliseconds(20000)));
  }
  EXPECT_EQ(FilesUnder(dir.path()), std::vector<std::string>{});
  Result<HeadResult> head = store.Head("data/set-2/dump.zst");
  ASSERT_TRUE(head.ok());
  EXPECT_FALSE(head->exists);
}

TEST(ObjectStreamTest, AnAbortedWriterFailsWithTheReasonAndStoresNothing) {
  ScratchDir dir;
  LocalStore store(dir.path());
  Result<std::unique_ptr<ObjectWriter>> writer = ObjectWriter::Start(store, "data/set-3/dump.zst");
  ASSERT_TRUE(writer.ok()) << writer.status().ToString();
  const std::string data = PseudoRandomBytes(3 << 20, 8);
  ASSERT_TRUE((*writer)->Write(data.data(), data.size()).ok());
  (*writer)->Abort(Status::Failed("pg_dump exited with status 1"));
  Status write = (*writer)->Write(data.data(), 10);
  ASSERT_FALSE(write.ok());
  EXPECT_EQ(write.message(), "pg_dump exited with status 1");
  Result<ObjectInfo> commit = (*writer)->Commit();
  ASSERT_FALSE(commit.ok());
  EXPECT_EQ(commit.status().message(), "pg_dump exited with status 1");
  EXPECT_EQ(FilesUnder(dir.path()), std::vector<std::string>{});
}

TEST(ObjectStreamTest, APutThatFailsEarlyFailsTheNextWriteInsteadOfBlocking) {
  ScratchDir dir;
  LocalStore store(dir.path());
  Result<std::unique_ptr<ObjectWriter>> started = ObjectWriter::Start(store, "data/bad key");
  ASSERT_TRUE(started.ok()) << started.status().ToString();
  ObjectWriter& writer = **started;
  // Far more than the channel holds: without the early failure, Write would wait forever.
  const std::string piece(1 << 20, 'x');
  std::atomic<bool> done{false};
  Status failure;
  int writes = 0;
  std::thread producer([&] {
    for (; writes < 64 && failure.ok(); ++writes) failure = writer.Write(piece.data(), piece.size());
    done = true;
  });
  const bool returned = WaitUntil([&] { return done.load(); }, milliseconds(20000));
  if (!returned) {
    ADD_FAILURE() << "Write is still blocked after Put failed";
    writer.Abort(Status::Failed("unblocking the test"));
  }
  producer.join();
  ASSERT_FALSE(failure.ok()) << "64 MiB were accepted for a key Put refused";
  EXPECT_NE(failure.message().find("data/bad key"), std::string::npos) << failure.message();
  EXPECT_FALSE(writer.Commit().ok());
  EXPECT_EQ(FilesUnder(dir.path()), std::vector<std::string>{});
}

// A LocalStore that counts its ranged Gets and whose Put does not start reading its source
// until the gate opens (a store slower than the producer): to see how far ahead of their
// consumer or producer the streams run.
class WatchedStore : public Store {
 public:
  explicit WatchedStore(std::string root) : inner_(std::move(root)) {}
  void OpenPutGate() {
    std::lock_guard<std::mutex> lock(mutex_);
    put_gate_open_ = true;
    opened_.notify_all();
  }
  int gets() const { return gets_; }

  std::string Describe() const override { return inner_.Describe(); }
  Result<ObjectInfo> Put(const std::string& key, ByteSource& source) override {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      opened_.wait(lock, [this] { return put_gate_open_; });
    }
    return inner_.Put(key, source);
  }
  Status Get(const std::string& key, uint64_t offset, uint64_t length, ByteSink& sink) override {
    ++gets_;
    return inner_.Get(key, offset, length, sink);
  }
  Result<std::vector<ObjectInfo>> List(const std::string& prefix) override {
    return inner_.List(prefix);
  }
  Result<HeadResult> Head(const std::string& key) override { return inner_.Head(key); }
  Status Delete(const std::string& key) override { return inner_.Delete(key); }
  Result<CreateOutcome> CreateIfAbsent(const std::string& key, std::string_view content) override {
    return inner_.CreateIfAbsent(key, content);
  }
  Result<CreateProtocol> ProbeCreateProtocol() override { return inner_.ProbeCreateProtocol(); }

 private:
  LocalStore inner_;
  std::atomic<int> gets_{0};
  std::mutex mutex_;
  std::condition_variable opened_;
  bool put_gate_open_ = false;
};

TEST(ObjectStreamTest, ObjectReaderFetchesOneChunkAhead) {
  ScratchDir dir;
  WatchedStore store(dir.path());
  store.OpenPutGate();
  const std::string data = PseudoRandomBytes(10 << 20, 14);
  StringSource source(data);
  ASSERT_TRUE(store.Put("data/ten", source).ok());
  Result<std::unique_ptr<ObjectReader>> reader = ObjectReader::Open(store, "data/ten", 1 << 20);
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  // Before any Read: the first chunk and the next one, and no more (about 2 chunks of memory).
  EXPECT_TRUE(WaitUntil([&] { return store.gets() == 2; }, milliseconds(20000)));
  EXPECT_FALSE(WaitUntil([&] { return store.gets() > 2; }, milliseconds(300)))
      << store.gets() << " Gets before the consumer read anything";
  // Into the second chunk: the first is free again, so the third is fetched.
  std::string buffer((1 << 20) + 1, '\0');
  size_t filled = 0;
  while (filled < buffer.size()) {
    Result<size_t> n = (*reader)->Read(&buffer[filled], buffer.size() - filled);
    ASSERT_TRUE(n.ok() && *n > 0) << n.status().ToString();
    filled += *n;
  }
  EXPECT_TRUE(buffer == data.substr(0, buffer.size()));
  EXPECT_TRUE(WaitUntil([&] { return store.gets() == 3; }, milliseconds(20000)));
  EXPECT_FALSE(WaitUntil([&] { return store.gets() > 3; }, milliseconds(300)))
      << store.gets() << " Gets while the consumer holds the second chunk";
}

TEST(ObjectStreamTest, WriteWaitsWhileTheChannelIsFull) {
  ScratchDir dir;
  WatchedStore store(dir.path());
  Result<std::unique_ptr<ObjectWriter>> writer = ObjectWriter::Start(store, "data/slow");
  ASSERT_TRUE(writer.ok()) << writer.status().ToString();
  const std::string piece = PseudoRandomBytes(256 << 10, 13);
  constexpr uint64_t kTotal = 64ull << 20;
  std::atomic<uint64_t> accepted{0};
  Status failure;
  std::thread producer([&] {
    while (accepted < kTotal && failure.ok()) {
      failure = (*writer)->Write(piece.data(), piece.size());
      if (failure.ok()) accepted += piece.size();
    }
  });
  // The channel takes a few MiB, then holds the producer back: memory stays bounded.
  EXPECT_TRUE(WaitUntil([&] { return accepted >= (2u << 20); }, milliseconds(20000)));
  EXPECT_FALSE(WaitUntil([&] { return accepted > (8u << 20); }, milliseconds(500)))
      << accepted << " bytes accepted while the store read nothing";
  store.OpenPutGate();
  producer.join();
  ASSERT_TRUE(failure.ok()) << failure.ToString();
  Result<ObjectInfo> info = (*writer)->Commit();
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->size, kTotal);
}

TEST(ObjectStreamTest, EmptyStreamIsAnEmptyObject) {
  ScratchDir dir;
  LocalStore store(dir.path());
  Result<std::unique_ptr<ObjectWriter>> writer = ObjectWriter::Start(store, "data/empty");
  ASSERT_TRUE(writer.ok()) << writer.status().ToString();
  Result<ObjectInfo> info = (*writer)->Commit();
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->size, 0u);
  EXPECT_FALSE((*writer)->Commit().ok());  // only once
  Status late = (*writer)->Write("x", 1);
  ASSERT_FALSE(late.ok());
  EXPECT_NE(late.message().find("after it was committed"), std::string::npos) << late.message();
  Result<HeadResult> head = store.Head("data/empty");
  ASSERT_TRUE(head.ok());
  EXPECT_TRUE(head->exists);
}

#define S3_STORE_OR_SKIP(store)                                             \
  std::string skip_reason;                                                  \
  std::unique_ptr<S3Store> store = FreshBucketStore(&skip_reason);          \
  if (store == nullptr && !skip_reason.empty()) GTEST_SKIP() << skip_reason; \
  ASSERT_NE(store, nullptr)

TEST(ObjectStreamS3Test, AHalfRoundTripsThroughMultipartUpload) {
  S3_STORE_OR_SKIP(store);
  // Random bytes do not compress: about 3 parts of 5 MiB.
  const std::string payload = PseudoRandomBytes((12 << 20) + 999, 12);
  const std::string header = "pair_token = \"beef\"\n";
  Result<StoredHalf> stored = PutCompressed(*store, "data/set-4/datadir.tar.zst", payload, header);
  ASSERT_TRUE(stored.ok()) << stored.status().ToString();
  EXPECT_EQ(stored->info.size, stored->output_bytes);
  EXPECT_NE(stored->info.etag.find('-'), std::string::npos) << "not multipart: " << stored->info.etag;
  ExpectReadsBack(*store, "data/set-4/datadir.tar.zst", payload, header, *stored, 3 << 20);
}

TEST(ObjectStreamS3Test, AnUncommittedWriterLeavesNoObjectNorUnfinishedUpload) {
  S3_STORE_OR_SKIP(store);
  const std::string data = PseudoRandomBytes(20 << 20, 6);
  {
    Result<std::unique_ptr<ObjectWriter>> writer =
        ObjectWriter::Start(*store, "data/set-5/datadir.tar.zst");
    ASSERT_TRUE(writer.ok()) << writer.status().ToString();
    // 20 MiB through a channel of a few MiB: Put has read at least 3 parts of 5 MiB.
    ASSERT_TRUE(WriteInPieces(**writer, data, 1 << 20).ok());
    bool listed = WaitUntil(
        [&] {
          Result<std::vector<PendingWrite>> pending = store->ListPendingWrites("");
          return pending.ok() && !pending->empty();
        },
        milliseconds(20000));
    ASSERT_TRUE(listed) << "no multipart upload was started";
  }
  Result<std::vector<PendingWrite>> pending = store->ListPendingWrites("");
  ASSERT_TRUE(pending.ok()) << pending.status().ToString();
  EXPECT_TRUE(pending->empty()) << pending->size() << " unfinished upload(s) left";
  Result<std::vector<ObjectInfo>> objects = store->List("");
  ASSERT_TRUE(objects.ok()) << objects.status().ToString();
  EXPECT_TRUE(objects->empty());
}

// Throughput of the streams against plain file I/O on the same disk, 256 MiB: printed, not
// asserted (a shared 2-core machine).
double MiBPerSecond(uint64_t bytes, std::chrono::steady_clock::time_point since) {
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
  return static_cast<double>(bytes) / (1 << 20) / seconds;
}

TEST(ObjectStreamTest, ThroughputAgainstPlainFiles) {
  ScratchDir dir;
  LocalStore store(dir.path());
  const uint64_t size = 256ull << 20;
  const std::string block = PseudoRandomBytes(1 << 20, 3);
  using Clock = std::chrono::steady_clock;

  auto start = Clock::now();
  {
    const int fd = ::open((dir / "plain").c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
    ASSERT_GE(fd, 0);
    FdSink sink(fd);
    for (uint64_t done = 0; done < size; done += block.size()) {
      ASSERT_TRUE(sink.Write(block.data(), block.size()).ok());
    }
    ASSERT_EQ(::fsync(fd), 0);
    ::close(fd);
  }
  const double plain_write = MiBPerSecond(size, start);

  start = Clock::now();
  Result<std::unique_ptr<ObjectWriter>> writer = ObjectWriter::Start(store, "streamed");
  ASSERT_TRUE(writer.ok()) << writer.status().ToString();
  for (uint64_t done = 0; done < size; done += block.size()) {
    ASSERT_TRUE((*writer)->Write(block.data(), block.size()).ok());
  }
  ASSERT_TRUE((*writer)->Commit().ok());
  const double stream_write = MiBPerSecond(size, start);

  std::vector<char> buffer(1 << 20);
  const auto read_through = [&](ByteSource& source) {
    uint64_t total = 0;
    for (;;) {
      Result<size_t> n = source.Read(buffer.data(), buffer.size());
      EXPECT_TRUE(n.ok()) << n.status().ToString();
      if (!n.ok() || *n == 0) return total;
      total += *n;
    }
  };
  // Both files were just written: both reads come from the page cache.
  start = Clock::now();
  {
    const int fd = ::open((dir / "plain").c_str(), O_RDONLY);
    ASSERT_GE(fd, 0);
    FdSource source(fd);
    EXPECT_EQ(read_through(source), size);
    ::close(fd);
  }
  const double plain_read = MiBPerSecond(size, start);

  start = Clock::now();
  Result<std::unique_ptr<ObjectReader>> reader = ObjectReader::Open(store, "streamed");
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  EXPECT_EQ(read_through(**reader), size);
  const double stream_read = MiBPerSecond(size, start);

  std::printf("256 MiB: file write %.0f MiB/s, ObjectWriter->LocalStore %.0f MiB/s; "
              "file read %.0f MiB/s, LocalStore->ObjectReader %.0f MiB/s\n",
              plain_write, stream_write, plain_read, stream_read);
}

}  // namespace
}  // namespace testing
}  // namespace gb
