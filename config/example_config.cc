// ExampleConfigText: the commented example shipped as config/example.toml.
//
// The text lives here, once; tests/config_example_test.cc checks that config/example.toml is
// byte-for-byte this text (and rewrites it when GOVERN_BACKUP_UPDATE_EXAMPLE=1 is set).
#include <string>

#include "config/config.h"

namespace gb {

std::string ExampleConfigText() {
  return R"toml(# govern-backup configuration
#
# govern-backup backs up a Dataiku Govern node: its DSS data directory (as a zstd-compressed tar)
# and its PostgreSQL database (as a pg_dump), paired in one backup set.
#
# Where this file is read from: --config FILE, else $GOVERN_BACKUP_CONFIG,
# else /etc/govern-backup/config.toml.
# Unknown keys, wrong types and impossible values are errors (exit code 2) naming key and line.
# Paths must be absolute. This file never holds a password: see database.password_file.

[node]
# The DSS data directory of the Govern node (DATA_DIR). Required.
data_dir = "/data/dataiku/dss_data"
# The command that starts and stops DSS. Empty: <data_dir>/bin/dss.
dss_command = ""
# The user that runs bin/dss (it refuses to run as root). Empty: the owner of data_dir.
dss_user = ""
# A DSS public API key (admin) in a file of its own (mode 0600): before stopping DSS, backup
# asks DSS for running jobs and scenarios and waits for them, as the DSS backup page asks.
# Empty: that step is skipped (check says so).
api_key_file = ""
# Where the DSS public API answers. Empty: http://127.0.0.1:<install.ini [server] port>.
api_url = ""
# How long backup waits for running tasks before it gives up (exit 1, DSS untouched).
wait_for_tasks = "10m"

[database]
# On a Govern node every key below defaults from <data_dir>/config/dip.properties
# (psql.jdbc.url and psql.jdbc.user); set one only to override it.
# host = "localhost"
# port = 5432
# dbname = "govern"
# user = "govern"
#
# A libpq password file (lines of host:port:dbname:user:password, mode 0600).
# Empty: $PGPASSFILE, else ~/.pgpass of the user running govern-backup.
password_file = ""
# The directory holding pg_dump and pg_restore, e.g. "/usr/lib/postgresql/15/bin".
# Empty: found on PATH. They must be at least as new as the server.
pg_bin_dir = ""

[repository]
# The main repository, where backup writes: a local directory (path) or an S3 bucket (url),
# never both. A directory: keep it outside data_dir, ideally on another disk.
path = "/var/backups/govern-backup"
# An S3 bucket and a prefix in it (which may be left out), with the keys shown under
# [repositories.NAME] below:
# url = "s3://BUCKET/PREFIX"

# More repositories, by name (letters, digits, '_' and '-'; "main" is [repository]): --repo NAME
# reads one, copy --to NAME copies sets into it. They take the keys of [repository].
# [repositories.offsite]
# url = "s3://govern-backups/node-a"    # or path = "/mnt/other-disk/govern-backup"
# endpoint = "https://s3.example.net"   # http(s)://HOST[:PORT]: the scheme decides TLS
# region = "us-east-1"
# uri_style = "path"                    # path: HOST/BUCKET/KEY (RGW, MinIO); host: BUCKET.HOST/KEY
# credentials = "env"                   # env: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN
#                                       # file: access_key_file + secret_key_file (mode 0600)
#                                       # profile: a [profile] of a shared credentials file
# access_key_file = ""                  # credentials = "file": absolute paths, one key per file
# secret_key_file = ""
# profile = ""                          # credentials = "profile": "" = $AWS_PROFILE, else default
# shared_credentials_file = ""          # "" = $AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/credentials
# ca_file = ""                          # a PEM file of CAs to trust instead of the system's
# part_size = "16MiB"                   # larger objects go in parts: 5MiB to 5GiB (MiB, MB, GiB...)
# upload_concurrency = 4                # parts sent at once (1..64); each holds part_size of memory
# retry_max_time = "5m"                 # retry a failing request (backoff, jitter) at most this long
# object_lock = ""                      # "" | "governance" | "compliance": every object written is locked
# object_lock_retain = "35d"            # ... for this long after it is written
# [repositories.offsite.retention]      # optional: its own keep_* rules; those unset are [retention]'s
# keep_monthly = 24

[backup]
# offline: DSS is stopped while the data dir is captured, then restarted as soon as the
#          capture and the database snapshot are taken (a consistent pair).
# online:  DSS keeps running; the data dir may change during the capture.
mode = "offline"
# Top-level folders of the data dir left out of the archive: they are rebuilt or only
# hold transient data. Names only, no "/".
exclude = ["tmp", "caches", "data-catalog", "run", "jobs", "scenarios", "diagnosis",
           "exports", "prepared_bundles", "apinode-packages"]
# zstd level, 1 (fastest) to 19 (smallest).
compression_level = 3
# zstd worker threads; 0 uses all cores.
threads = 0
# Incremental sets: each set archives only the files new or changed since the set it builds
# on (the others stay in the sets of its chain); `backup --full` forces a full set.
incremental = true
# A full set starts a new chain when the chain's full set is this old ("0d": always full).
full_every = "7d"
# The backup host's plaintext copies of the sets' indexes (by repository and set id): with
# [encryption] recipients and no identity on this host, the next set builds on them. They hold
# file names and hashes of the data dir this host reads in clear anyway. Kept to the sets
# that exist.
cache_dir = "/var/cache/govern-backup"
# Offline: while the first pass reads the data dir (DSS running), inotify notes where anything
# changes; with DSS stopped, the second pass reads only those directories, so DSS is down for
# what changed, not for the size of the data dir. It falls back to stat'ing every entry when
# the journal cannot be trusted (watch limit, queue overflow, hard links). Writes through a
# shared memory mapping raise no inotify event: set false if something writes the data dir so.
change_journal = true
# Offline with DSS running: the database is dumped beside the first pass, and that dump is kept
# when no transaction committed and no sequence moved before DSS stopped (the set is then
# ready about 13% sooner on the bench node); otherwise it is given up and dumped again, DSS down.
# On a node whose database is written to all night, every dump is given up (the log says so):
# set false there, and the database is dumped only once DSS is down.
dump_while_running = true

[snapshot]
# Optional: capture the data dir from an atomic volume snapshot instead of the live folder.
# create runs while DSS is stopped and must leave the snapshot mounted (read-only) so that
# the data dir appears at path; destroy runs after the capture, whatever happened.
# Leave all three empty to capture the live data dir.
# create = "lvcreate --snapshot --name govern-snap --size 5G vg0/dss && mount -o ro /dev/vg0/govern-snap /mnt/govern-snap"
# path = "/mnt/govern-snap/dss_data"
# destroy = "umount /mnt/govern-snap && lvremove -y vg0/govern-snap"
create = ""
path = ""
destroy = ""

[encryption]
# Optional: encrypt every set to age public keys, and sign every manifest.
# recipients: age X25519 public keys ("age1...", from `govern-backup keygen --out FILE` or
# age-keygen). Every half and index is encrypted to all of them; none: sets are not encrypted.
# The backup host needs only these public keys: keep the identity (the private key) offline.
recipients = []
# The age identity file that decrypts (restore, extract, ls, diff, verify --deep). Leave it
# empty on the backup host; set it on the host that restores. A passphrase-protected identity
# (age-keygen | age -p > key.age) asks for its passphrase on the terminal, or reads the first
# line of passphrase_file (mode 0600).
identity_file = ""
passphrase_file = ""
# An Ed25519 key (`govern-backup keygen --signing --out FILE`, mode 0600) that signs every
# manifest, and the public keys whose signatures verify and restore accept. Once either is
# set, an unsigned manifest, a tampered one, or one signed by another key is refused.
signing_key_file = ""
trusted_keys = []

[hooks]
# Optional shell commands (/bin/sh -c), their output in the log, each killed after timeout.
# The environment says what ran: GOVERN_BACKUP_COMMAND, GOVERN_BACKUP_SET_ID,
# GOVERN_BACKUP_STATUS (success | failure), GOVERN_BACKUP_EXIT_CODE, GOVERN_BACKUP_REPOSITORY.
pre_backup = ""     # before backup touches anything; a non-zero exit: no backup (exit 1)
post_backup = ""    # after a complete set
on_failure = ""     # after any command that failed (also when stopped by a signal)
timeout = "5m"

[metrics]
# Optional: a Prometheus node_exporter textfile (e.g. in the collector's --collector.textfile.
# directory), rewritten atomically after each backup, verify, audit and prune.
textfile = ""

[retention]
# What prune keeps. A set is kept if ANY rule keeps it, and the newest complete set is
# always kept. Sets are pruned as whole pairs (data dir and database together).
keep_last = 7       # the newest N sets
keep_daily = 7      # the newest set of each of the last N days that have one
keep_weekly = 4     # ... of each of the last N weeks
keep_monthly = 6    # ... of each of the last N months
keep_within = "4d"  # every set younger than this: a number and s, m, h, d or w ("1d12h")
)toml";
}

}  // namespace gb
