// govern-bench-setup DIR: builds the benchmark's Govern node with the same generators as the
// tests and the demo: a throwaway PostgreSQL (left running) with a Govern database of
// --db-mb MB, a data dir of about --data-mb MB in --files small files plus large ones, and a
// config.toml. --tiny-files N adds N files of a few hundred bytes (the 1-million-file node of
// scripts/bench --million). Prints shell assignments that scripts/bench evaluates.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstdio>
#include <fstream>
#include <iostream>

#include "config/config.h"
#include "io/files.h"
#include "io/text.h"
#include "sandbox/sample_govern_schema.h"
#include "sandbox/sample_node.h"
#include "sandbox/throwaway_cluster.h"

namespace {

// `count` files of about 200 bytes in folders of 1,000, owned by the node's owner. Written
// with plain open/write/close: the sample generator's config documents (a few KB each, from a
// random vocabulary) would take ten times longer for a million files.
gb::Status WriteTinyFiles(const gb::SampleNode& node, int count) {
  const std::string root = node.data_dir + "/managed_folders/P00001/tiny";
  std::string folder;
  for (int i = 0; i < count; ++i) {
    if (i % 1000 == 0) {
      folder = root + "/d" + std::to_string(i / 1000);
      for (const std::string& path : {node.data_dir + "/managed_folders",
                                      node.data_dir + "/managed_folders/P00001", root, folder}) {
        if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) {
          return gb::Status::FromErrno("cannot create directory " + path, errno);
        }
        if (::lchown(path.c_str(), node.owner_uid, node.owner_gid) != 0) {
          return gb::Status::FromErrno("cannot chown " + path, errno);
        }
      }
    }
    const std::string path = folder + "/item-" + std::to_string(i) + ".json";
    char content[256];
    int length = std::snprintf(content, sizeof(content),
                               "{\n  \"id\": \"item-%d\",\n  \"kind\": \"managed-folder-item\",\n"
                               "  \"checksum\": \"%08x%08x\",\n  \"size\": %d,\n"
                               "  \"tags\": [\"bench\", \"tiny\", \"generated\"]\n}\n",
                               i, static_cast<unsigned>(i) * 2654435761u,
                               static_cast<unsigned>(i) ^ 0x5bd1e995u, i % 4096);
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return gb::Status::FromErrno("cannot create " + path, errno);
    gb::Status written = gb::WriteAll(fd, content, static_cast<size_t>(length), path);
    if (written.ok() && ::fchown(fd, node.owner_uid, node.owner_gid) != 0) {
      written = gb::Status::FromErrno("cannot chown " + path, errno);
    }
    ::close(fd);
    GB_RETURN_IF_ERROR(written);
  }
  return gb::Status::Ok();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"build the govern-backup benchmark node"};
  std::string dir;
  int files = 100000;
  int data_mb = 1100;
  int db_mb = 320;
  int tiny_files = 0;
  app.add_option("DIR", dir, "where to build it")->required();
  app.add_option("--files", files, "small config-like files");
  app.add_option("--data-mb", data_mb, "data dir size in MB (large files make up the rest)");
  app.add_option("--db-mb", db_mb, "database size in MB");
  app.add_option("--tiny-files", tiny_files, "files of a few hundred bytes, added to the rest");
  CLI11_PARSE(app, argc, argv);
  // stdout carries only the shell assignments scripts/bench evaluates.
  spdlog::set_default_logger(spdlog::stderr_color_mt("bench-setup"));

  gb::ThrowawayClusterOptions cluster_options;
  cluster_options.directory = dir + "/postgresql";
  cluster_options.keep = true;
  auto cluster = gb::ThrowawayCluster::Start(cluster_options);
  if (!cluster.ok()) {
    std::cerr << cluster.status().ToString() << "\n";
    return 1;
  }
  gb::ConnectionParams db = (*cluster)->GovernParams();
  gb::Status loaded = gb::LoadSampleGovernSchema(db, "", static_cast<uint64_t>(db_mb) << 20);
  if (!loaded.ok()) {
    std::cerr << loaded.ToString() << "\n";
    return 1;
  }

  gb::SampleNodeOptions node_options;
  node_options.root = dir + "/node";
  node_options.db_host = db.host;
  node_options.db_port = db.port;
  node_options.db_name = db.dbname;
  node_options.db_user = db.user;
  node_options.small_files = files;
  node_options.large_file_bytes = 64ull << 20;
  // Small files average a few KB; large files make up the rest of the size asked for.
  uint64_t small_bytes = static_cast<uint64_t>(files) * 4096;
  uint64_t wanted = static_cast<uint64_t>(data_mb) << 20;
  node_options.large_files = wanted > small_bytes ? static_cast<int>((wanted - small_bytes) / node_options.large_file_bytes) : 1;
  auto node = gb::GenerateSampleNode(node_options);
  if (!node.ok()) {
    std::cerr << node.status().ToString() << "\n";
    return 1;
  }
  gb::Status tiny = WriteTinyFiles(*node, tiny_files);
  if (!tiny.ok()) {
    std::cerr << tiny.ToString() << "\n";
    return 1;
  }

  std::ofstream(dir + "/config.toml")
      << "[node]\ndata_dir = \"" << node->data_dir << "\"\n[database]\npassword_file = \""
      << (*cluster)->password_file() << "\"\npg_bin_dir = \"" << (*cluster)->bin_dir()
      << "\"\n[repository]\npath = \"" << dir << "/repository\"\n";
  std::cout << "DATA_DIR='" << node->data_dir << "'\n"
            << "EVENTS='" << node->events_log() << "'\n"
            << "PG_BIN='" << (*cluster)->bin_dir() << "'\n"
            << "PGHOST='" << db.host << "'\nPGPORT='" << db.port << "'\nPGUSER='" << db.user
            << "'\nPGDATABASE='" << db.dbname << "'\nPGPASSFILE='" << (*cluster)->password_file()
            << "'\nPG_DIR='" << (*cluster)->directory() << "'\n"
            << "EXCLUDES='" << gb::Join(gb::BackupConfig::DefaultExcludes(), " ") << "'\n";
  return 0;
}
