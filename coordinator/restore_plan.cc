#include "coordinator/restore_plan.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <filesystem>

#include "coordinator/chain.h"
#include "coordinator/manifest_signature.h"
#include "coordinator/node_context.h"
#include "coordinator/set_checks.h"
#include "coordinator/time_format.h"
#include "datadir/node.h"
#include "io/text.h"
#include "pg/server.h"
#include "pg/version.h"

namespace gb {
namespace {

namespace fs = std::filesystem;

// PostgreSQL truncates longer names silently, which could make two names collide.
constexpr size_t kMaxDatabaseName = 63;
// Per entry, what a file system spends beyond the content (inode, last block).
constexpr uint64_t kPerEntryOverhead = 4096;

std::string NormalizedDir(const std::string& path) {
  std::error_code error;
  fs::path absolute = fs::absolute(path, error);
  if (error) absolute = path;
  std::string text = absolute.lexically_normal().string();
  while (text.size() > 1 && text.back() == '/') text.pop_back();
  return text;
}

bool IsEmptyDirectory(const std::string& dir) {
  std::error_code error;
  return fs::is_directory(dir, error) && fs::is_empty(dir, error) && !error;
}

bool SameDatabase(const ConnectionParams& a, const ConnectionParams& b) {
  return a.host == b.host && a.port == b.port && a.dbname == b.dbname;
}

class Planner {
 public:
  Planner(const Config& config, const Repository& repository, const RestoreOptions& options,
          Env* env)
      : config_(config), options_(options), env_(env), repo_(repository) {}

  RestorePlan Run() {
    // The set's manifest first: every other check needs it.
    if (!Step(SetSubject(options_.id, kManifestPart), [this] { return LoadManifest(); }))
      return std::move(plan_);
    // Then its signature, and its parents': nothing of a set no trusted key vouches for is read.
    if (config_.encryption.requires_signature() &&
        !Step(SetSubject(options_.id, kSignaturePart), [this] { return CheckSignatures(); }))
      return std::move(plan_);
    Step("pg_restore", [this] { return FindTools(); });
    Step("set " + options_.id, [this] { return CheckTheSet(); });
    Step("chain", [this] { return CheckTheChain(); });
    Step("data dir", [this] { return CheckTargetDataDir(); });
    Step("dss", [this] { return CheckDss(); });
    Step("dss version", [this] { return CheckDssVersion(); });
    CheckDatabase();
    Step("space", [this] { return CheckSpace(); });
    return std::move(plan_);
  }

 private:
  // Runs one named check, which returns what it found. Its refusals carry `subject` (the
  // set's structural checks name the half themselves); a check that refuses nothing is
  // recorded as passed. True when it passed.
  template <typename Check>
  bool Step(const std::string& subject, Check check) {
    subject_ = subject;
    const size_t before = plan_.findings.size();
    std::string found = check();
    if (plan_.findings.size() != before) return false;
    plan_.findings.push_back(Finding::Ok(subject, std::move(found)));
    return true;
  }
  void Refuse(const Status& status) {
    plan_.findings.push_back(Finding::Problem(subject_, status.WithCode(Code::kRefused)));
  }
  void Refuse(const std::string& message, const std::string& hint) {
    plan_.findings.push_back(Finding::Problem(subject_, Status::Refused(message, hint)));
  }

  std::string LoadManifest() {
    Result<Manifest> manifest = repo_.LoadSet(options_.id);
    if (!manifest.ok()) {
      Refuse(manifest.status());
      return {};
    }
    plan_.manifest = *manifest;
    plan_.repository = &repo_;
    plan_.set_location = repo_.Locate(repo_.SetPrefix(options_.id));
    plan_.datadir_file = repo_.Locate(repo_.ObjectKey(options_.id, plan_.manifest.datadir.file));
    if (plan_.manifest.database)
      plan_.database_file =
          repo_.Locate(repo_.ObjectKey(options_.id, plan_.manifest.database->file));
    return repo_.Locate(repo_.ManifestKey(options_.id)) + ", taken " +
           FormatRfc3339(plan_.manifest.created_at) + " on DSS " + plan_.manifest.node.dss_version;
  }

  // The set's manifest and, in a chain, every manifest it builds on: a forged parent would put
  // its files into the restored data dir. A chain that does not load is CheckTheChain's.
  std::string CheckSignatures() {
    Result<ManifestTrust> trust = ManifestTrust::FromConfig(config_.encryption);
    if (!trust.ok()) {
      Refuse(trust.status());
      return {};
    }
    std::vector<Manifest> sets = {plan_.manifest};
    if (plan_.manifest.type == SetType::kIncremental && trust->Accept(plan_.manifest).ok()) {
      Result<std::vector<Manifest>> chain = LoadChain(repo_, options_.id);
      if (chain.ok()) sets = std::move(chain).value();
    }
    for (const Manifest& manifest : sets) {
      Status accepted = trust->Accept(manifest);
      if (!accepted.ok() && manifest.id != options_.id)
        accepted = accepted.WithContext("set " + options_.id + " builds on set " + manifest.id);
      if (!accepted.ok()) Refuse(accepted);
    }
    return std::string(sets.size() == 1 ? "the manifest is " : "every manifest of the chain is ") +
           trust->Check(plan_.manifest).Describe();
  }

  // pg_restore must read what the set's pg_dump wrote: a major at least the dump's.
  std::string FindTools() {
    if (!plan_.manifest.database) return "not needed: the set has no database half";
    const ManifestDatabase& db = *plan_.manifest.database;
    Result<int> server_major = MajorVersion(db.server_version);
    Result<int> dump_major = MajorVersion(db.pg_dump_version);
    if (!server_major.ok() || !dump_major.ok()) {
      Refuse((server_major.ok() ? dump_major : server_major)
                 .status()
                 .WithContext("the manifest of set " + plan_.manifest.id));
      return "";
    }
    const int needed = std::max(*server_major, *dump_major);
    Result<DumpTools> tools = FindDumpToolsFor(config_.database.pg_bin_dir, needed);
    if (!tools.ok()) {
      spdlog::debug("looking for pg_restore {}+: {}", needed, tools.status().ToString());
      Refuse("the dump was made by pg_dump " + db.pg_dump_version + " from PostgreSQL " +
                 db.server_version + "; no pg_restore of major " + std::to_string(needed) +
                 " or newer was found (pg_bin_dir, PATH, /usr/lib/postgresql/*/bin)",
             "install postgresql-client-" + std::to_string(needed) +
                 " and set [database] pg_bin_dir to its bin directory");
      return {};
    }
    plan_.tools = *tools;
    tools_found_ = true;
    return tools->pg_restore + " " + tools->pg_restore_version + " reads dumps of pg_dump " +
           db.pg_dump_version;
  }

  // The structural checks, shared with verify: halves, hashes, identities, readability.
  std::string CheckTheSet() {
    SetCheckOptions options;
    options.depth = CheckDepth::kReadThrough;
    options.tools = tools_found_ ? &plan_.tools : nullptr;
    SetCheckReport report = CheckSet(repo_, options_.id, options);
    index_ = report.index;
    for (Finding& finding : report.findings) {
      if (finding.subject == SetSubject(options_.id, kChainPart)) continue;  // CheckTheChain's
      Status refusal = finding.status.WithCode(Code::kRefused);
      if (refusal.hint().empty()) refusal = refusal.WithHint("restore another set (`govern-backup list`)");
      plan_.findings.push_back(Finding::Problem(std::move(finding.subject), std::move(refusal)));
    }
    if (!plan_.manifest.database)
      return "the data-dir half reads through; its size, SHA-256 and pair identity match "
             "(no database half)";
    return std::string("both halves read through; sizes, SHA-256 and pair identities match") +
           (tools_found_ ? "; the dump's table of contents agrees with the manifest" : "");
  }

  // Every set the set builds on: complete, its data-dir half read through and its index
  // hashed, with the sizes, SHA-256 and pair identities of its manifest. Their database halves
  // are not needed.
  std::string CheckTheChain() {
    Result<std::vector<Manifest>> chain = LoadChain(repo_, options_.id);
    if (!chain.ok()) {
      Refuse(chain.status());
      return {};
    }
    plan_.chain = std::move(chain).value();
    if (plan_.chain.size() == 1) return "a full set: it builds on no other set";
    // Read through, as the set itself is: a damaged frame of a parent found only while staging
    // would be a failed restore (exit 1), not a refused one. Their database halves are not
    // needed.
    SetCheckOptions data_dir_only;
    data_dir_only.database_half = false;
    data_dir_only.index_hash_only = true;
    std::vector<std::string> ancestors;
    for (size_t i = 0; i + 1 < plan_.chain.size(); ++i) {
      const std::string& id = plan_.chain[i].id;
      ancestors.push_back(id);
      SetCheckReport report = CheckSet(repo_, id, data_dir_only);
      for (Finding& finding : report.findings) {
        if (finding.subject == SetSubject(id, kDatabasePart)) continue;
        plan_.findings.push_back(Finding::Problem(
            std::move(finding.subject),
            finding.status.WithContext("set " + options_.id + " builds on set " + id)
                .WithCode(Code::kRefused)
                .WithHint("every set of the chain is needed: put back an intact copy of set " + id +
                          " (`govern-backup copy` from another repository), or restore another "
                          "set")));
      }
    }
    return "builds on " + Join(ancestors) +
           ": each complete, its data-dir half read through and its index hashed, with the "
           "sizes, SHA-256 and pair identities its manifest records";
  }

  std::string CheckTargetDataDir() {
    plan_.data_dir = NormalizedDir(options_.data_dir.empty() ? config_.node.data_dir
                                                             : options_.data_dir);
    const std::string& dir = plan_.data_dir;
    plan_.staging_dir = dir + ".restore-" + options_.id;
    plan_.aside_dir = dir + ".pre-restore-" + FormatCompact(now_);

    struct stat info {};
    if (::lstat(dir.c_str(), &info) != 0) {
      plan_.target_state = TargetDirState::kAbsent;
    } else if (!S_ISDIR(info.st_mode)) {
      Refuse(dir + " exists but is not a DSS data dir (not a directory)",
             "move it away or choose --data-dir");
    } else if (IsEmptyDirectory(dir)) {
      plan_.target_state = TargetDirState::kEmpty;
    } else if (!LooksLikeDataDir(dir)) {
      Refuse(dir + " exists but is not a DSS data dir; move it away or choose --data-dir",
             "a DSS data dir has dss-version.json and install.ini");
    } else {
      plan_.target_state = TargetDirState::kDataDir;
      Result<DssNode> node = DiscoverNode(dir);
      if (!node.ok()) {
        Refuse(node.status().WithContext("the live data dir " + dir));
      } else {
        target_node_ = *node;
      }
    }
    if (plan_.target_state != TargetDirState::kAbsent) {
      plan_.target_mode = info.st_mode & 07777;
      plan_.target_uid = info.st_uid;
      plan_.target_gid = info.st_gid;
    }

    std::string parent = fs::path(dir).parent_path().string();
    if (::access(parent.c_str(), W_OK | X_OK) != 0)
      Refuse("cannot create " + plan_.staging_dir + ": " + parent + " is missing or not writable",
             "create " + parent + " or run govern-backup as its owner (or root)");
    std::error_code error;
    if (fs::exists(fs::symlink_status(plan_.staging_dir, error)))
      Refuse(plan_.staging_dir + " exists (left by an interrupted restore?)",
             "remove it: rm -rf " + plan_.staging_dir);
    if (plan_.target_state == TargetDirState::kDataDir &&
        fs::exists(fs::symlink_status(plan_.aside_dir, error)))
      Refuse(plan_.aside_dir + " exists", "wait a second and try again, or move it away");
    switch (plan_.target_state) {
      case TargetDirState::kDataDir: return dir + " is a DSS data dir; it will be set aside";
      case TargetDirState::kEmpty: return dir + " is an empty directory; it will be replaced";
      case TargetDirState::kAbsent: break;
    }
    return dir + " does not exist; it will be created";
  }

  // The node the config names, when it is there: its DSS, its database settings.
  void ResolveConfiguredNode() {
    const std::string configured = NormalizedDir(config_.node.data_dir);
    if (LooksLikeDataDir(configured)) {
      Config copy = config_;
      copy.node.data_dir = configured;
      Result<NodeContext> context = ResolveNode(copy);
      if (context.ok()) {
        configured_ = *context;
      } else if (configured == plan_.data_dir) {
        Refuse(context.status().WithContext("the configured node " + configured));
      } else {
        spdlog::warn("configured node {}: {}", configured, context.status().message());
      }
    }
  }

  std::string CheckDss() {
    ResolveConfiguredNode();
    if (plan_.target_state != TargetDirState::kDataDir) return "none at " + plan_.data_dir;
    const bool target_is_configured =
        configured_ && plan_.data_dir == configured_->node.data_dir;
    if (target_is_configured) {
      plan_.dss = configured_->dss;
    } else {
      Result<DssControlOptions> dss =
          MakeDssControlOptions(plan_.data_dir, "", config_.node.dss_user);
      if (!dss.ok()) {
        Refuse(dss.status().WithContext("DSS at " + plan_.data_dir));
        return {};
      }
      plan_.dss = *dss;
    }
    Result<DssState> state = DssControl(*plan_.dss).Query();
    if (!state.ok()) {
      Refuse(state.status().WithContext("cannot tell whether DSS at " + plan_.data_dir +
                                        " runs"));
      return {};
    }
    plan_.dss_running = *state == DssState::kRunning;
    return std::string(plan_.dss_running ? "running" : "stopped") + " at " + plan_.data_dir;
  }

  // A backup never goes onto an older DSS than the one it was taken on.
  std::string CheckDssVersion() {
    const DssNode* reference = target_node_ ? &*target_node_
                               : configured_ ? &configured_->node
                                             : nullptr;
    if (reference != nullptr) {
      plan_.target_dss_version = reference->effective_dss_version();
      plan_.target_version_source =
          reference->install_dss_version.empty()
              ? reference->data_dir + "/dss-version.json"
              : reference->install_dir + "/dss-version.json";
      plan_.install_dir = reference->install_dir;
    }
    if (plan_.install_dir.empty()) plan_.install_dir = plan_.manifest.node.install_dir;
    const std::string& set_version = plan_.manifest.node.dss_version;
    if (plan_.target_dss_version.empty()) {
      spdlog::warn("the DSS version at {} is unknown; installer.sh -u will check it",
                   plan_.data_dir);
      return "set taken on DSS " + set_version + "; the target's DSS version is unknown "
             "(installer.sh -u will check it)";
    }
    if (CompareDssVersions(set_version, plan_.target_dss_version) > 0)
      Refuse("set " + plan_.manifest.id + " was taken on DSS " + set_version +
                 ", newer than the target's DSS " + plan_.target_dss_version + " (" +
                 plan_.target_version_source + "): a backup never goes onto an older DSS",
             "install DSS " + set_version + " or newer first, or restore an older set");
    return "set taken on DSS " + set_version + ", the target runs DSS " +
           plan_.target_dss_version + " (" + plan_.target_version_source + ")";
  }

  // The database checks, each a step; those after the first need the server reached.
  void CheckDatabase() {
    if (!plan_.manifest.database) {
      Step("database", [] { return std::string("none in this set"); });
      return;
    }
    plan_.has_database = true;
    if (!Step("database", [this] { return ChooseTargetDatabase(); })) return;
    if (!Step("database server", [this] { return CheckTargetServer(); })) return;
    Step("database role", [this] { return CheckRoles(); });
    Step("scratch databases", [this] { return CheckScratchNames(); });
    Step("database sessions", [this] { return CheckSessions(); });
  }

  // Which server and database, and the names of the staging and aside databases.
  std::string ChooseTargetDatabase() {
    const ManifestDatabase& source = *plan_.manifest.database;
    std::optional<ConnectionParams> params;
    if (configured_) params = configured_->database;
    if (!params) params = ResolveDatabase(config_, DssNode{}, nullptr);
    if (!params || params->user.empty()) {
      Refuse("no database settings to restore database " + source.dbname + " into",
             "set [database] host, port, dbname and user in " + config_.source);
      return {};
    }
    const std::string configured_db = params->dbname;
    plan_.database = params->WithDatabase(!options_.dbname.empty() ? options_.dbname
                                          : !configured_db.empty() ? configured_db
                                                                   : source.dbname);
    const std::string& target = plan_.database.dbname;
    std::string suffix = options_.id.substr(options_.id.find('-') + 1);
    plan_.staging_db = target + "_restore_" + suffix;
    plan_.aside_db = target + "_pre_restore_" + AsciiLowercase(FormatCompact(now_));
    for (const std::string* name : {&plan_.staging_db, &plan_.aside_db})
      if (name->size() > kMaxDatabaseName)
        Refuse("database name " + *name + " would exceed PostgreSQL's 63 bytes",
               "choose a shorter --dbname");

    // Replacing the database of a node whose data dir stays would pair halves of two sets.
    if (configured_ && configured_->database && plan_.data_dir != configured_->node.data_dir &&
        SameDatabase(*configured_->database, plan_.database))
      Refuse("this restore would replace database " + target + " of the node at " +
                 configured_->node.data_dir + " while putting the data dir at " + plan_.data_dir,
             "choose another database with --dbname, or restore the data dir in place");
    return "database " + source.dbname + " of the set goes to " + plan_.database.Describe();
  }

  // The server is reachable and runs a major that can take the dump.
  std::string CheckTargetServer() {
    const ManifestDatabase& source = *plan_.manifest.database;
    const std::string& target = plan_.database.dbname;
    Result<bool> exists = DatabaseExists(plan_.database, target);
    if (!exists.ok()) {
      Refuse(exists.status().WithContext("cannot reach the target database server"));
      return {};
    }
    plan_.database_exists = *exists;
    Result<ServerIdentity> server =
        ReadServerIdentity(plan_.database.WithDatabase(*exists ? target : "postgres"));
    if (!server.ok()) {
      Refuse(server.status().WithContext("reading the target database server"));
      return {};
    }
    target_server_ = *server;
    plan_.server_version = server->server_version;
    plan_.live_database_bytes = *exists ? server->database_bytes : 0;
    // An unreadable version was refused by FindTools already.
    Result<int> source_major = MajorVersion(source.server_version);
    if (source_major.ok() && server->server_major < *source_major)
      Refuse("the dump comes from PostgreSQL " + source.server_version +
                 "; the target server " + plan_.database.Describe() + " runs PostgreSQL " +
                 server->server_version + ", an older major",
             "restore onto PostgreSQL " + std::to_string(*source_major) +
                 " or newer");
    return "PostgreSQL " + server->server_version + " (the dump comes from " +
           source.server_version + "); database " + target +
           (*exists ? " exists, " + FormatBytes(server->database_bytes) : " does not exist yet");
  }

  // The role may create the staging database and rename the live one aside.
  std::string CheckRoles() {
    const std::string& user = plan_.database.user;
    const std::string& target = plan_.database.dbname;
    if (!target_server_->can_create_db)
      Refuse("role " + user + " cannot create databases, which the staging database needs",
             "as a superuser: ALTER ROLE " + user + " CREATEDB");
    if (plan_.database_exists && !target_server_->owns_database && !target_server_->is_superuser)
      Refuse("role " + user + " does not own database " + target +
                 " and so cannot rename it aside",
             "as a superuser: ALTER DATABASE " + target + " OWNER TO " + user);
    return "role " + user + " may create the staging database" +
           (plan_.database_exists ? " and rename " + target + " aside" : "");
  }

  // The staging and aside names are free.
  std::string CheckScratchNames() {
    Result<bool> staging_exists = DatabaseExists(plan_.database, plan_.staging_db);
    if (staging_exists.ok() && *staging_exists)
      Refuse("database " + plan_.staging_db + " exists (left by an interrupted restore?)",
             "drop it: dropdb " + plan_.staging_db);
    Result<bool> aside_exists = DatabaseExists(plan_.database, plan_.aside_db);
    if (plan_.database_exists && aside_exists.ok() && *aside_exists)
      Refuse("database " + plan_.aside_db + " exists", "wait a second and try again");
    return "staging " + plan_.staging_db +
           (plan_.database_exists ? ", aside " + plan_.aside_db : std::string()) + ": free";
  }

  // While DSS runs the sessions are its own, and DSS is stopped first; with DSS stopped,
  // someone else is using the database that would be replaced.
  std::string CheckSessions() {
    const std::string& target = plan_.database.dbname;
    if (!plan_.database_exists) return "none: database " + target + " does not exist yet";
    if (plan_.dss_running) return "those of DSS, which is stopped before the switch";
    Result<std::vector<std::string>> sessions = OtherSessions(plan_.database, target);
    if (sessions.ok() && !sessions->empty())
      Refuse("database " + target + " is in use by other sessions while DSS is stopped: " +
                 Join(*sessions),
             "close them (or SELECT pg_terminate_backend(pid)) and try again");
    return "no other session on " + target;
  }

  std::string CheckSpace() {
    // An incremental set's half holds only what changed: its index tells the whole data dir.
    const ManifestDatadir& datadir = plan_.manifest.datadir;
    plan_.datadir_need_bytes = index_ ? index_->file_bytes + index_->entries * kPerEntryOverhead
                                      : datadir.source_bytes + datadir.files * kPerEntryOverhead;
    Result<uint64_t> free = FreeBytes(fs::path(plan_.data_dir).parent_path().string());
    if (!free.ok()) {
      Refuse(free.status());
      return {};
    }
    plan_.datadir_free_bytes = *free;
    if (*free < plan_.datadir_need_bytes)
      Refuse("the staged data dir needs about " + FormatBytes(plan_.datadir_need_bytes) +
                 " beside " + plan_.data_dir + "; only " + FormatBytes(*free) + " are free there",
             "free space on that file system, or restore elsewhere with --data-dir");
    return FormatBytes(*free) + " free beside " + plan_.data_dir + " for about " +
           FormatBytes(plan_.datadir_need_bytes);
  }

  const Config& config_;
  const RestoreOptions& options_;
  Env* env_;
  const Repository& repo_;
  TimePoint now_ = env_->Now();
  RestorePlan plan_;
  bool tools_found_ = false;
  std::optional<IndexSummary> index_;  // of the set, when it has one
  std::string subject_;  // of the check that runs
  std::optional<ServerIdentity> target_server_;
  std::optional<DssNode> target_node_;
  std::optional<NodeContext> configured_;
};

}  // namespace

bool RestorePlan::upgrade() const {
  return !target_dss_version.empty() &&
         CompareDssVersions(manifest.node.dss_version, target_dss_version) < 0;
}

RestorePlan PlanRestore(const Config& config, const Repository& repository,
                        const RestoreOptions& options, Env* env) {
  Planner planner(config, repository, options, env);
  return planner.Run();
}

Status RefusalStatus(const RestorePlan& plan) {
  if (!plan.refused()) return Status::Ok();
  const std::string set = plan.manifest.id.empty() ? "" : " of set " + plan.manifest.id;
  return Status::Refused("restore" + set + " refused, nothing was touched: " +
                             std::to_string(CountProblems(plan.findings)) +
                             " pre-flight check(s) failed (" + ProblemSubjects(plan.findings) + ")",
                         "the pre-flight findings on stdout say what to do about each");
}

}  // namespace gb
