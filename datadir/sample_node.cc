#include "datadir/sample_node.h"

#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>
#include <vector>

#include <spdlog/spdlog.h>

#include "datadir/dss_control.h"
#include "io/subprocess.h"

namespace gb {
namespace {

// ---- cheap pseudo-random data (xorshift64*): the benchmark writes a gigabyte of it.

class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed == 0 ? 0x9E3779B97F4A7C15ull : seed) {}
  uint64_t Next() {
    state_ ^= state_ >> 12;
    state_ ^= state_ << 25;
    state_ ^= state_ >> 27;
    return state_ * 0x2545F4914F6CDD1Dull;
  }
  uint64_t Below(uint64_t n) { return Next() % n; }

 private:
  uint64_t state_;
};

uint64_t RandomSeed() {
  std::random_device device;
  return (static_cast<uint64_t>(device()) << 32) ^ device();
}

std::string RandomString(Rng& rng, size_t length, const std::string& alphabet) {
  std::string out;
  out.reserve(length);
  for (size_t i = 0; i < length; ++i) out.push_back(alphabet[rng.Below(alphabet.size())]);
  return out;
}

const std::string kAlphaNumeric =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const std::string kBase64 = kAlphaNumeric + "+/";
const std::string kHex = "0123456789abcdef";

const std::vector<std::string>& Words() {
  static const std::vector<std::string> words = {
      "govern",    "project",  "model",     "version",   "blueprint", "initiative", "review",
      "approved",  "pending",  "risk",      "owner",     "dataset",   "recipe",     "deployment",
      "bundle",    "scenario", "metric",    "check",     "workflow",  "step",       "sign-off",
      "business",  "value",    "customer",  "churn",     "forecast",  "quarterly",  "revenue",
      "team",      "analytics", "pipeline", "feature",   "store",     "training",   "validation",
      "production", "staging", "audit",     "trail",     "comment",   "status",     "priority",
      "high",      "medium",   "low",       "the",       "and",       "of",         "for",
      "with",      "a",        "on",        "is",        "to",        "in",         "by",
      "2026",      "europe",   "finance",   "marketing", "compliance", "legal",     "data",
      "science"};
  return words;
}

void AppendWords(Rng& rng, size_t count, std::string* out) {
  const auto& words = Words();
  for (size_t i = 0; i < count; ++i) {
    if (i > 0) out->push_back(' ');
    out->append(words[rng.Below(words.size())]);
  }
}

// ---- file-system helpers.

Status MakeDirs(const std::string& path, mode_t mode = 0755) {
  if (path.empty()) return Status::Ok();
  struct stat st;
  if (::stat(path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return Status::Ok();
    return Status::Failed(path + " exists and is not a directory");
  }
  size_t slash = path.find_last_of('/');
  if (slash != std::string::npos && slash > 0) {
    GB_RETURN_IF_ERROR(MakeDirs(path.substr(0, slash), 0755));
  }
  if (::mkdir(path.c_str(), mode) != 0 && errno != EEXIST) {
    return Status::FromErrno("cannot create directory " + path, errno);
  }
  if (::chmod(path.c_str(), mode) != 0) return Status::FromErrno("chmod " + path, errno);
  return Status::Ok();
}

Status WriteAll(int fd, const char* data, size_t size, const std::string& path) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno("cannot write " + path, errno);
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
  return Status::Ok();
}

Status WriteFile(const std::string& path, const std::string& content, mode_t mode = 0644) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return Status::FromErrno("cannot create " + path, errno);
  Status status = WriteAll(fd, content.data(), content.size(), path);
  if (status.ok() && ::fchmod(fd, mode) != 0) status = Status::FromErrno("chmod " + path, errno);
  if (::close(fd) != 0 && status.ok()) status = Status::FromErrno("cannot close " + path, errno);
  return status;
}

Status Symlink(const std::string& target, const std::string& link) {
  if (::symlink(target.c_str(), link.c_str()) != 0) {
    return Status::FromErrno("cannot create symlink " + link, errno);
  }
  return Status::Ok();
}

std::string ShellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += "'\\''";
    else out.push_back(c);
  }
  return out + "'";
}

std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\u%04x", c);
      out += buf;
    } else {
      out.push_back(c);
    }
  }
  return out + "\"";
}

std::string ReplaceAll(std::string text, const std::string& from, const std::string& to) {
  for (size_t pos = text.find(from); pos != std::string::npos;
       pos = text.find(from, pos + to.size())) {
    text.replace(pos, from.size(), to);
  }
  return text;
}

// ---- the scripts.

// bin/dss: DSS's control script, played by a background "supervisor" loop. The supervisor
// detaches completely (own session, stdio on files, other fds closed) so that it never holds
// the caller's pipes open.
const char kDssScript[] = R"DSS(#!/bin/bash
# bin/dss of a sample Govern node generated by govern-backup. It behaves like DSS's own
# control script for start, stop, status and restart, with a background loop standing in
# for the supervisor. Its record and fault switches live in CONTROL_DIR:
#   events.log                      one "<unix time> start|stop" line per change
#   fail-stop fail-start            stop / start fail while the file exists
#   hang-stop hang-start            stop / start hang while the file exists
#   churn                           while running, config/churn.json is rewritten every 0.2 s
CONTROL_DIR=@CONTROL_DIR@

if [ "$(id -u)" -eq 0 ]; then
  echo "[!] Running DSS under superuser account is not supported." >&2
  exit 1
fi

DIP_HOME=$(cd "$(dirname "$0")/.." && pwd -P) || exit 1
RUN_DIR="$DIP_HOME/run"
PID_FILE="$RUN_DIR/supervisord.pid"
SUPERVISOR_TAG=govern-sample-supervisor

SUPERVISOR_SCRIPT='
dip=$1
control=$2
for fd in /proc/$$/fd/*; do
  fd=${fd##*/}
  if [ "$fd" -gt 2 ] 2>/dev/null; then eval "exec $fd>&-"; fi
done
echo $$ > "$dip/run/supervisord.pid.tmp" && mv -f "$dip/run/supervisord.pid.tmp" "$dip/run/supervisord.pid"
echo "$(date "+%Y/%m/%d-%H:%M:%S.%3N") [governserver] Govern server started" >> "$dip/run/backend.log"
trap "exit 0" TERM INT
generation=0
while :; do
  if [ -e "$control/churn" ]; then
    generation=$((generation + 1))
    printf "{\n  \"generation\": %d,\n  \"written_at\": \"%s\"\n}\n" "$generation" "$(date +%s.%N)" \
      > "$dip/config/churn.json.tmp" && mv -f "$dip/config/churn.json.tmp" "$dip/config/churn.json"
  fi
  sleep 0.2
done
'

# The pid of this data dir's supervisor; a stale pid file (a crash, a restored copy, a
# reused pid, a zombie) names no supervisor.
supervisor_pid() {
  local pid args
  pid=$(cat "$PID_FILE" 2>/dev/null) || return 1
  case "$pid" in ''|*[!0-9]*) return 1 ;; esac
  args=$(tr '\0' '\n' < "/proc/$pid/cmdline" 2>/dev/null) || return 1
  [[ $'\n'"$args"$'\n' == *$'\n'"$SUPERVISOR_TAG"$'\n'"$DIP_HOME"$'\n'* ]] || return 1
  echo "$pid"
}

record() {
  printf '%s %s\n' "$(date +%s.%N)" "$1" >> "$CONTROL_DIR/events.log"
}

version_of() {
  sed -n 's/.*"product_version"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p' "$1" 2>/dev/null
}

do_status() {
  local pid up
  if pid=$(supervisor_pid); then
    # The pid file may vanish between the two reads (a concurrent stop): uptime 0 then.
    up=$(( $(date +%s) - $(stat -c %Y "$PID_FILE" 2>/dev/null || date +%s) ))
    printf '%-32s %-9s pid %s, uptime %d:%02d:%02d\n' governserver RUNNING "$pid" \
      $((up / 3600)) $((up % 3600 / 60)) $((up % 60))
    printf '%-32s %-9s pid %s, uptime %d:%02d:%02d\n' nginx RUNNING "$pid" \
      $((up / 3600)) $((up % 3600 / 60)) $((up % 60))
    return 0
  fi
  echo "dss: DSS supervisor is not running" >&2
  return 1
}

do_stop() {
  local pid i
  if ! pid=$(supervisor_pid); then
    echo "dss: DSS supervisor is not running" >&2
    return 1
  fi
  echo "Waiting for DSS supervisor to stop ..."
  if [ -e "$CONTROL_DIR/hang-stop" ]; then
    exec sleep 3600
  fi
  if [ -e "$CONTROL_DIR/fail-stop" ]; then
    echo "[!] DSS supervisor did not stop: governserver refused to shut down" >&2
    return 1
  fi
  kill -TERM "$pid" 2>/dev/null
  for i in $(seq 1 200); do
    [ "$(supervisor_pid)" = "$pid" ] || break
    sleep 0.1
  done
  if [ "$(supervisor_pid)" = "$pid" ]; then
    echo "[!] Timeout waiting for DSS supervisor to stop" >&2
    return 1
  fi
  rm -f "$PID_FILE"
  record stop
  echo "DSS stopped"
}

do_start() {
  local expected pid i data_version install_version
  expected=$(cat "$DIP_HOME/install-support/expected-dip-home.txt" 2>/dev/null)
  if [ "$expected" != "$DIP_HOME" ]; then
    echo "[!] The data directory $DIP_HOME appears to a copy from $expected" >&2
    echo "[!] Run INSTALL_DIR/installer.sh -d $DIP_HOME -u before starting it" >&2
    return 1
  fi
  DKUINSTALLDIR=""
  . "$DIP_HOME/bin/env-default.sh" 2>/dev/null
  if [ -z "$DKUINSTALLDIR" ] || [ ! -d "$DKUINSTALLDIR" ]; then
    echo "[!] DSS installation directory '$DKUINSTALLDIR' (bin/env-default.sh) not found" >&2
    return 1
  fi
  data_version=$(version_of "$DIP_HOME/dss-version.json")
  install_version=$(version_of "$DKUINSTALLDIR/dss-version.json")
  if [ "$data_version" != "$install_version" ]; then
    echo "[!] Data directory version $data_version does not match installation version $install_version" >&2
    echo "[!] Run $DKUINSTALLDIR/installer.sh -d $DIP_HOME -u" >&2
    return 1
  fi
  if pid=$(supervisor_pid); then
    echo "[!] DSS supervisor is already running (pid $pid)" >&2
    return 1
  fi
  echo "Waiting for DSS backend to start ..."
  if [ -e "$CONTROL_DIR/hang-start" ]; then
    exec sleep 3600
  fi
  mkdir -p "$RUN_DIR" || return 1
  if [ -e "$CONTROL_DIR/fail-start" ]; then
    echo "$(date "+%Y/%m/%d-%H:%M:%S.%3N") [governserver] FATAL: startup failed" >> "$RUN_DIR/backend.log"
    echo "[!] DSS backend did not start, see $RUN_DIR/backend.log" >&2
    return 1
  fi
  rm -f "$PID_FILE"
  setsid bash -c "$SUPERVISOR_SCRIPT" "$SUPERVISOR_TAG" "$DIP_HOME" "$CONTROL_DIR" \
    < /dev/null >> "$RUN_DIR/supervisord.log" 2>&1 &
  for i in $(seq 1 200); do
    pid=$(supervisor_pid) && break
    sleep 0.05
  done
  if [ -z "$pid" ]; then
    echo "[!] DSS supervisor did not start, see $RUN_DIR/supervisord.log" >&2
    return 1
  fi
  record start
  echo "DSS started, pid=$pid"
}

case "$1" in
  start) do_start ;;
  stop) do_stop ;;
  status) do_status ;;
  restart) do_stop && do_start ;;
  *) echo "Usage: $0 (start|stop|status|restart)" >&2; exit 1 ;;
esac
)DSS";

// installer.sh: of the real installer only the upgrade of an existing data dir, which a
// restore to another path or version needs.
const char kInstallerScript[] = R"SH(#!/bin/bash
# installer.sh of a sample DSS installation generated by govern-backup. It knows only
# "-d DATA_DIR -u": point an existing data dir at this installation (after a restore to
# another path or version), as the real installer's upgrade does.
INSTALL_DIR=$(cd "$(dirname "$0")" && pwd -P)
DATA_DIR=""
UPGRADE=0
usage() {
  echo "Usage: $0 -d DATA_DIR -u   (this sample installer only upgrades a data dir)" >&2
  exit 1
}
while getopts "d:uyp:t:n:P:l:" opt; do
  case "$opt" in
    d) DATA_DIR=$OPTARG ;;
    u) UPGRADE=1 ;;
    y|p|t|n|P|l) ;;
    *) usage ;;
  esac
done
[ -n "$DATA_DIR" ] && [ "$UPGRADE" = 1 ] || usage
[ -d "$DATA_DIR" ] || { echo "[!] Data directory $DATA_DIR does not exist" >&2; exit 1; }
DATA_DIR=$(cd "$DATA_DIR" && pwd -P)
[ -f "$DATA_DIR/dss-version.json" ] || { echo "[!] $DATA_DIR is not a DSS data directory" >&2; exit 1; }

version_of() {
  sed -n 's/.*"product_version"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p' "$1" 2>/dev/null
}
old=$(version_of "$DATA_DIR/dss-version.json")
new=$(version_of "$INSTALL_DIR/dss-version.json")
if [ "$old" != "$new" ] && [ "$(printf '%s\n%s\n' "$old" "$new" | sort -V | tail -n 1)" = "$old" ]; then
  echo "[!] Cannot downgrade data directory $DATA_DIR from DSS $old to DSS $new" >&2
  exit 1
fi
echo "[+] Upgrading data directory $DATA_DIR (DSS $old) with installation $INSTALL_DIR (DSS $new)"
echo "[+] Setting DKUINSTALLDIR=$INSTALL_DIR in bin/env-default.sh"
sed -i "s|^export DKUINSTALLDIR=.*|export DKUINSTALLDIR=\"$INSTALL_DIR\"|" "$DATA_DIR/bin/env-default.sh" || exit 1
if [ "$old" != "$new" ]; then
  echo "[+] Migrating configuration from DSS $old to DSS $new"
  cp "$INSTALL_DIR/dss-version.json" "$DATA_DIR/dss-version.json" || exit 1
fi
echo "[+] Recording data directory location $DATA_DIR"
mkdir -p "$DATA_DIR/install-support" && echo "$DATA_DIR" > "$DATA_DIR/install-support/expected-dip-home.txt" || exit 1
echo "[+] Python environment: kept (the sample installer does not rebuild pyenv)"
echo "[+] Data directory upgraded"
)SH";

// ---- the content.

std::string VersionJson(const SampleNodeOptions& options, const std::string& commit) {
  return "{\n  \"conf_version\": " + JsonString(options.conf_version) +
         ",\n  \"product_version\": " + JsonString(options.dss_version) +
         ",\n  \"product_commitid\": " + JsonString(commit) + "\n}\n";
}

std::string JdbcUrl(const SampleNodeOptions& options) {
  std::string url;
  std::vector<std::string> params;
  if (!options.db_host.empty() && options.db_host[0] == '/') {
    // A Unix socket: the JDBC driver reaches it through junixsocket's socket factory.
    url = "jdbc:postgresql://localhost:" + std::to_string(options.db_port) + "/" + options.db_name;
    params.push_back("socketFactory=org.newsclub.net.unix.AFUNIXSocketFactory$FactoryArg");
    params.push_back("socketFactoryArg=" + options.db_host + "/.s.PGSQL." +
                     std::to_string(options.db_port));
  } else {
    std::string host = options.db_host.find(':') != std::string::npos
                           ? "[" + options.db_host + "]"
                           : options.db_host;
    url = "jdbc:postgresql://" + host + ":" + std::to_string(options.db_port) + "/" +
          options.db_name;
  }
  if (!options.db_schema.empty()) params.push_back("currentSchema=" + options.db_schema);
  for (size_t i = 0; i < params.size(); ++i) url += (i == 0 ? "?" : "&") + params[i];
  return url;
}

std::string ConfigJson(Rng& rng, const std::string& type, const std::string& id) {
  std::string json = "{\n  \"type\": " + JsonString(type) + ",\n  \"id\": " + JsonString(id) +
                     ",\n  \"name\": \"";
  AppendWords(rng, 2 + rng.Below(4), &json);
  json += "\",\n  \"creationTag\": {\n    \"versionNumber\": " + std::to_string(rng.Below(40)) +
          ",\n    \"lastModifiedBy\": {\"login\": \"admin\"},\n    \"lastModifiedOn\": " +
          std::to_string(1700000000000ull + rng.Below(100000000000ull)) + "\n  },\n  \"tags\": [";
  size_t tags = rng.Below(4);
  for (size_t i = 0; i < tags; ++i) {
    json += (i ? ", \"" : "\"") + Words()[rng.Below(Words().size())] + "\"";
  }
  json += "],\n  \"params\": {\n";
  size_t params = 3 + rng.Below(40);
  for (size_t i = 0; i < params; ++i) {
    json += "    \"p" + std::to_string(i) + "_" + Words()[rng.Below(Words().size())] + "\": \"";
    AppendWords(rng, 1 + rng.Below(6), &json);
    json += i + 1 < params ? "\",\n" : "\"\n";
  }
  json += "  },\n  \"checksum\": \"" + RandomString(rng, 40, kHex) + "\"\n}\n";
  return json;
}

// About 20% random bytes (incompressible), the rest text from a small vocabulary:
// zstd compresses the mix about 2-3x, like a real data dir's managed folders.
void FillMixedData(Rng& rng, std::string* buffer, size_t size) {
  buffer->clear();
  buffer->reserve(size + 64);
  const auto& words = Words();
  while (buffer->size() < size) {
    size_t block = std::min<size_t>(4096, size - buffer->size());
    if (rng.Below(100) < 20) {
      size_t start = buffer->size();
      buffer->resize(start + block);
      for (size_t i = 0; i < block; i += 8) {
        uint64_t r = rng.Next();
        std::memcpy(&(*buffer)[start + i], &r, std::min<size_t>(8, block - i));
      }
    } else {
      size_t end = buffer->size() + block;
      while (buffer->size() < end) {
        uint64_t r = rng.Next();
        buffer->append(words[r % words.size()]);
        buffer->push_back((r >> 32) % 11 == 0 ? '\n' : (r >> 40) % 7 == 0 ? ',' : ' ');
      }
      buffer->resize(end);
    }
  }
}

Status WriteLargeFile(Rng& rng, const std::string& path, uint64_t bytes) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::FromErrno("cannot create " + path, errno);
  constexpr size_t kChunk = 4 << 20;
  std::string buffer;
  Status status;
  for (uint64_t written = 0; written < bytes && status.ok();) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(kChunk, bytes - written));
    FillMixedData(rng, &buffer, n);
    status = WriteAll(fd, buffer.data(), n, path);
    written += n;
  }
  if (::close(fd) != 0 && status.ok()) status = Status::FromErrno("cannot close " + path, errno);
  return status;
}

struct Layout {
  const SampleNodeOptions& options;
  std::string root;
  std::string data_dir;
  std::string install_dir;
  std::string control_dir;
  Rng rng{RandomSeed()};

  std::string D(const std::string& relative) const { return data_dir + "/" + relative; }

  Status Write(const std::string& relative, const std::string& content, mode_t mode = 0644) {
    std::string path = D(relative);
    GB_RETURN_IF_ERROR(MakeDirs(path.substr(0, path.find_last_of('/'))));
    return WriteFile(path, content, mode);
  }

  std::string Text(size_t words) {
    std::string text;
    AppendWords(rng, words, &text);
    return text + "\n";
  }

  std::string Binary(size_t bytes) {
    std::string data(bytes, '\0');
    for (size_t i = 0; i < bytes; ++i) data[i] = static_cast<char>(rng.Next());
    return data;
  }

  Status WriteIdentity() {
    std::string commit = RandomString(rng, 40, kHex);
    GB_RETURN_IF_ERROR(Write("dss-version.json", VersionJson(options, commit)));
    GB_RETURN_IF_ERROR(MakeDirs(install_dir));
    GB_RETURN_IF_ERROR(WriteFile(install_dir + "/dss-version.json", VersionJson(options, commit)));
    GB_RETURN_IF_ERROR(WriteFile(install_dir + "/installer.sh", kInstallerScript, 0755));
    GB_RETURN_IF_ERROR(MakeDirs(install_dir + "/scripts"));
    GB_RETURN_IF_ERROR(WriteFile(install_dir + "/scripts/README", "DSS installation kit (sample)\n"));

    GB_RETURN_IF_ERROR(Write(
        "install.ini",
        "[general]\nnodetype = " + options.node_type + "\ninstallid = " +
            RandomString(rng, 24, kAlphaNumeric) + "\nnodeid = " +
            RandomString(rng, 8, "abcdefghijklmnopqrstuvwxyz0123456789") +
            "\n\n[server]\nport = 11200\n\n[javaopts]\ngovernserver.xmx = 4g\n"));
    GB_RETURN_IF_ERROR(Write("instance-id.txt", RandomString(rng, 32, kHex) + "\n"));
    GB_RETURN_IF_ERROR(Write("install-support/expected-dip-home.txt", data_dir + "\n"));
    GB_RETURN_IF_ERROR(Write("install-support/installer.log",
                             "[+] Installing DSS " + options.dss_version + " in " + data_dir +
                                 "\n[+] Installation complete\n"));
    GB_RETURN_IF_ERROR(Write("bin/env-default.sh",
                             "# Environment of this DSS data directory, written by the installer\n"
                             "export DKUINSTALLDIR=\"" + install_dir + "\"\n"
                             "export DKUJAVABIN=\"/usr/bin/java\"\n"
                             "export DKU_BACKEND_PORT=11200\n",
                             0644));
    GB_RETURN_IF_ERROR(Write("bin/env-site.sh", "# Site-specific environment\n"));
    return Write("bin/dss", ReplaceAll(kDssScript, "@CONTROL_DIR@", ShellQuote(control_dir)),
                 0755);
  }

  Status WriteConfig() {
    GB_RETURN_IF_ERROR(MakeDirs(D("config")));
    GB_RETURN_IF_ERROR(Write("config/dip.properties",
                             "# Govern database connection\n"
                             "psql.jdbc.url=" + JdbcUrl(options) + "\n"
                             "psql.jdbc.user=" + options.db_user + "\n"
                             "psql.jdbc.password=e:AES:" + RandomString(rng, 64, kBase64) + "\n",
                             0600));
    GB_RETURN_IF_ERROR(Write("config/configkey.json",
                             "{\n  \"key\": \"" + RandomString(rng, 44, kBase64) + "\"\n}\n",
                             0600));
    GB_RETURN_IF_ERROR(Write("config/general-settings.json", ConfigJson(rng, "settings", "general")));
    GB_RETURN_IF_ERROR(Write("config/users.json",
                             "{\n  \"users\": [\n    {\"login\": \"admin\", \"displayName\": "
                             "\"Administrator\", \"groups\": [\"administrators\"], "
                             "\"passwordHash\": \"" + RandomString(rng, 60, kBase64) + "\"},\n"
                             "    {\"login\": \"reviewer\", \"displayName\": \"Model Reviewer\", "
                             "\"groups\": [\"reviewers\"]}\n  ]\n}\n",
                             0600));
    GB_RETURN_IF_ERROR(Write("config/groups.json", ConfigJson(rng, "groups", "groups")));
    GB_RETURN_IF_ERROR(Write("config/connections.json", ConfigJson(rng, "connections", "all")));
    GB_RETURN_IF_ERROR(Write("config/license.json", ConfigJson(rng, "license", "govern")));
    for (int i = 0; i < 3; ++i) {
      std::string id = "bp.custom" + std::to_string(i);
      GB_RETURN_IF_ERROR(Write("config/governance/blueprints/" + id + ".json",
                               ConfigJson(rng, "blueprint", id)));
    }
    GB_RETURN_IF_ERROR(Symlink("general-settings.json", D("config/current-settings.json")));

    // The config-like bulk: projects of two dozen files in three folders (few folders per
    // file: the file system's latency per entry dominates with 100,000 files).
    const int projects = (options.small_files + kFilesPerProject - 1) / kFilesPerProject;
    for (int project = 0; project < projects; ++project) {
      GB_RETURN_IF_ERROR(WriteProject(rng, project));
    }
    return Status::Ok();
  }

  static constexpr int kFilesPerProject = 24;

  Status WriteProject(Rng& project_rng, int project) const {
    static const char* kinds[] = {"recipe", "dataset", "scenario", "notebook", "webapp",
                                  "wiki", "dashboard", "insight", "metric", "saved-model"};
    char name[32];
    std::snprintf(name, sizeof(name), "P%05d", project);
    const std::string project_dir = "config/projects/" + std::string(name);
    for (const char* sub : {"recipes", "datasets"}) {
      GB_RETURN_IF_ERROR(MakeDirs(D(project_dir + "/" + sub)));
    }
    const int first = project * kFilesPerProject;
    const int end = std::min(options.small_files, first + kFilesPerProject);
    for (int i = first; i < end; ++i) {
      int k = i - first;
      std::string relative;
      std::string kind;
      if (k < 2) {
        kind = k == 0 ? "params" : "permissions";
        relative = project_dir + "/" + kind + ".json";
      } else {
        kind = kinds[i % 10];
        relative = project_dir + (k % 2 == 0 ? "/recipes/" : "/datasets/") + kind + "_" +
                   std::to_string(i) + ".json";
      }
      GB_RETURN_IF_ERROR(
          WriteFile(D(relative), ConfigJson(project_rng, kind, kind + std::to_string(i))));
    }
    return Status::Ok();
  }

  Status WriteFolders() {
    // The rest of a DSS 14 top level, a few files each.
    GB_RETURN_IF_ERROR(Write("databases/jobs.h2.db", Binary(16384)));
    GB_RETURN_IF_ERROR(Write("databases/flow_state.h2.db", Binary(8192)));
    GB_RETURN_IF_ERROR(Write("lib/java/custom-udf.jar", Binary(4096)));
    GB_RETURN_IF_ERROR(Write("lib/python/govern_hooks.py",
                             "def on_review(item):\n    return item.get('status') == 'approved'\n"));
    GB_RETURN_IF_ERROR(Write("lib/scripts/refresh-artifacts.sh",
                             "#!/bin/sh\necho refreshing governed artifacts\n", 0755));
    GB_RETURN_IF_ERROR(Symlink("../../plugins/installed", D("lib/python/plugins")));
    GB_RETURN_IF_ERROR(Write("local/static/banner.txt", Text(30)));
    GB_RETURN_IF_ERROR(Symlink(data_dir + "/config/general-settings.json",
                               D("local/static/settings-link.json")));
    GB_RETURN_IF_ERROR(Symlink("../missing/nowhere.txt", D("local/dangling-link")));
    GB_RETURN_IF_ERROR(MakeDirs(D("local/private"), 0700));
    GB_RETURN_IF_ERROR(Write("local/private/api-secret.txt", RandomString(rng, 32, kHex), 0600));
    GB_RETURN_IF_ERROR(MakeDirs(D("local/empty-dir")));

    GB_RETURN_IF_ERROR(Write("plugins/installed/sample-plugin/plugin.json",
                             ConfigJson(rng, "plugin", "sample-plugin")));
    GB_RETURN_IF_ERROR(Write("plugins/installed/sample-plugin/python-lib/shared.py",
                             "# shared by two entry points (hard link)\nVALUE = 42\n"));
    if (::link(D("plugins/installed/sample-plugin/python-lib/shared.py").c_str(),
               D("plugins/installed/sample-plugin/python-lib/shared_alias.py").c_str()) != 0) {
      return Status::FromErrno("cannot create a hard link in plugins/", errno);
    }
    GB_RETURN_IF_ERROR(Write("plugins/dev/README", "plugins under development\n"));

    GB_RETURN_IF_ERROR(Write("R.lib/README", "R packages installed for DSS\n"));
    GB_RETURN_IF_ERROR(Write("analysis-data/P00000/a1/session.json", ConfigJson(rng, "analysis", "a1")));
    GB_RETURN_IF_ERROR(Write("saved_models/P00000/m1/versions/v1/model.bin", Binary(32768)));
    GB_RETURN_IF_ERROR(Write("timelines/P00000.json", ConfigJson(rng, "timeline", "P00000")));
    GB_RETURN_IF_ERROR(Write("notebook_results/P00000/run1.json", ConfigJson(rng, "nb", "run1")));
    GB_RETURN_IF_ERROR(Write("jupyter-run/jupyter.log", Text(40)));
    GB_RETURN_IF_ERROR(Write("privtmp/README", "private temporary files\n"));
    GB_RETURN_IF_ERROR(Write("managed_datasets/P00000/customers.csv",
                             "id,name,segment\n1,Ada,finance\n2,Grace,legal\n"));
    GB_RETURN_IF_ERROR(Write("uploads/Quarterly report été 2026.csv",
                             "quarter,revenue\nQ1,100\nQ2,120\n"));
    GB_RETURN_IF_ERROR(Write("uploads/données.txt", "données de référence\n"));

    GB_RETURN_IF_ERROR(Write("pyenv/pyvenv.cfg", "home = /usr/bin\nversion = 3.11.2\n"));
    GB_RETURN_IF_ERROR(MakeDirs(D("pyenv/bin")));
    GB_RETURN_IF_ERROR(Symlink("/usr/bin/python3", D("pyenv/bin/python")));
    GB_RETURN_IF_ERROR(Symlink("python", D("pyenv/bin/python3")));
    GB_RETURN_IF_ERROR(Write("code-envs/python/govern-env/desc.json",
                             ConfigJson(rng, "code-env", "govern-env")));
    GB_RETURN_IF_ERROR(MakeDirs(D("code-envs/python/govern-env/bin")));
    GB_RETURN_IF_ERROR(Symlink("../../../../pyenv/bin/python",
                               D("code-envs/python/govern-env/bin/python")));

    // The folders a backup excludes by default.
    for (const char* folder : {"tmp", "caches", "data-catalog", "jobs", "scenarios", "diagnosis",
                               "exports", "prepared_bundles", "apinode-packages"}) {
      for (int i = 0; i < 3; ++i) {
        GB_RETURN_IF_ERROR(Write(std::string(folder) + "/item" + std::to_string(i) + ".dat",
                                 Text(50 + rng.Below(200))));
      }
    }
    GB_RETURN_IF_ERROR(Write("run/backend.log", Text(200)));
    GB_RETURN_IF_ERROR(Write("run/supervisord.log", Text(50)));
    return Status::Ok();
  }

  Status WriteLargeFiles() {
    for (int i = 0; i < options.large_files; ++i) {
      std::string relative = i % 2 == 0
                                 ? "managed_folders/P00000/Xy7Qa2/blob-" + std::to_string(i) + ".bin"
                                 : "uploads/archive-" + std::to_string(i) + ".dat";
      std::string path = D(relative);
      GB_RETURN_IF_ERROR(MakeDirs(path.substr(0, path.find_last_of('/'))));
      GB_RETURN_IF_ERROR(WriteLargeFile(rng, path, options.large_file_bytes));
    }
    return Status::Ok();
  }
};

Result<std::string> RealPath(const std::string& path) {
  char resolved[PATH_MAX];
  if (::realpath(path.c_str(), resolved) == nullptr) {
    return Status::FromErrno("cannot resolve " + path, errno);
  }
  return std::string(resolved);
}

Status EnsureSystemUser(const std::string& name) {
  if (::getpwnam(name.c_str()) != nullptr) return Status::Ok();
  spdlog::info("creating system user {} for the sample node", name);
  SubprocessOptions sub;
  sub.argv = {"useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name};
  sub.timeout = std::chrono::seconds(60);
  GB_ASSIGN_OR_RETURN(ExitInfo exit, RunSubprocess(sub));
  // Another process may have created it meanwhile (useradd exits 9 then).
  if (::getpwnam(name.c_str()) == nullptr) {
    return Status::Failed("cannot create system user " + name + ": useradd " + exit.Describe());
  }
  return Status::Ok();
}

// lchown of `root` and everything below it, symlinks themselves rather than their targets.
Status ChownTree(const std::string& root, uid_t uid, gid_t gid) {
  if (::lchown(root.c_str(), uid, gid) != 0) return Status::FromErrno("cannot chown " + root, errno);
  std::error_code error;
  for (std::filesystem::recursive_directory_iterator it(root, error), end; !error && it != end;
       it.increment(error)) {
    if (::lchown(it->path().c_str(), uid, gid) != 0) {
      return Status::FromErrno("cannot chown " + it->path().string(), errno);
    }
  }
  if (error) return Status::Failed("cannot walk " + root + ": " + error.message());
  return Status::Ok();
}

Result<std::string> ReadPidFile(const std::string& path) {
  std::ifstream in(path);
  std::string pid;
  if (!(in >> pid)) return Status::Failed("no pid in " + path);
  return pid;
}

// The pid of the node's fake supervisor when it is alive (not a zombie, not a reused pid).
std::optional<pid_t> SupervisorPid(const std::string& data_dir) {
  auto text = ReadPidFile(data_dir + "/run/supervisord.pid");
  if (!text.ok() || text->find_first_not_of("0123456789") != std::string::npos) {
    return std::nullopt;
  }
  pid_t pid = static_cast<pid_t>(std::stol(*text));
  if (pid <= 0 || (::kill(pid, 0) != 0 && errno != EPERM)) return std::nullopt;
  std::ifstream cmdline("/proc/" + *text + "/cmdline", std::ios::binary);
  std::string args((std::istreambuf_iterator<char>(cmdline)), std::istreambuf_iterator<char>());
  if (args.find(std::string(1, '\0') + data_dir + '\0') == std::string::npos) return std::nullopt;
  return pid;
}

}  // namespace

bool SampleNode::IsRunning() const { return SupervisorPid(data_dir).has_value(); }

Status SampleNode::KillSupervisor() const {
  auto pid = SupervisorPid(data_dir);
  if (!pid) return Status::Ok();
  if (::kill(*pid, SIGKILL) != 0 && errno != ESRCH) {
    return Status::FromErrno("cannot kill the sample supervisor " + std::to_string(*pid), errno);
  }
  for (int i = 0; i < 100 && SupervisorPid(data_dir); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ::unlink((data_dir + "/run/supervisord.pid").c_str());
  return Status::Ok();
}

Result<SampleNode> GenerateSampleNode(const SampleNodeOptions& options) {
  if (options.root.empty()) return Status::Usage("sample node: no root directory given");
  auto start_time = std::chrono::steady_clock::now();

  std::string owner_name;
  uid_t owner_uid = ::geteuid();
  gid_t owner_gid = ::getegid();
  if (::geteuid() == 0) {
    owner_name = options.owner.empty() ? kSampleNodeUser : options.owner;
    GB_RETURN_IF_ERROR(EnsureSystemUser(owner_name));
    struct passwd* pw = ::getpwnam(owner_name.c_str());
    if (pw == nullptr) return Status::Failed("user " + owner_name + " not found");
    if (pw->pw_uid == 0) {
      return Status::Usage("sample node owner " + owner_name + " is root; bin/dss refuses root");
    }
    owner_uid = pw->pw_uid;
    owner_gid = pw->pw_gid;
  } else if (!options.owner.empty()) {
    struct passwd* self = ::getpwuid(::geteuid());
    if (self == nullptr || options.owner != self->pw_name) {
      return Status::Usage("a sample node owned by " + options.owner + " needs root");
    }
  }

  GB_RETURN_IF_ERROR(MakeDirs(options.root));
  GB_ASSIGN_OR_RETURN(std::string root, RealPath(options.root));
  Layout layout{options, root, root + "/data_dir", root + "/install_dir", root + "/control"};
  for (const std::string* dir : {&layout.data_dir, &layout.install_dir, &layout.control_dir}) {
    struct stat st;
    if (::lstat(dir->c_str(), &st) == 0) {
      return Status::Failed("sample node: " + *dir + " already exists",
                            "generate the sample node into an empty directory");
    }
  }
  GB_RETURN_IF_ERROR(MakeDirs(layout.data_dir));
  GB_RETURN_IF_ERROR(MakeDirs(layout.control_dir));
  GB_RETURN_IF_ERROR(WriteFile(layout.control_dir + "/events.log", ""));
  GB_RETURN_IF_ERROR(layout.WriteIdentity());
  GB_RETURN_IF_ERROR(layout.WriteConfig());
  GB_RETURN_IF_ERROR(layout.WriteFolders());
  GB_RETURN_IF_ERROR(layout.WriteLargeFiles());
  if (::geteuid() == 0) GB_RETURN_IF_ERROR(ChownTree(root, owner_uid, owner_gid));

  SampleNode node;
  node.root = root;
  node.data_dir = layout.data_dir;
  node.install_dir = layout.install_dir;
  node.control_dir = layout.control_dir;
  node.owner_uid = owner_uid;
  node.owner_gid = owner_gid;
  spdlog::debug("sample node generated in {} ({} config files, {} large files) in {} ms", root,
                options.small_files, options.large_files,
                std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::steady_clock::now() - start_time)
                    .count());

  if (options.start_running) {
    GB_ASSIGN_OR_RETURN(DssControlOptions control,
                        MakeDssControlOptions(node.data_dir, "", owner_name));
    control.start_timeout = std::chrono::seconds(60);
    GB_RETURN_IF_ERROR(DssControl(control).Start());
  }
  return node;
}

}  // namespace gb
