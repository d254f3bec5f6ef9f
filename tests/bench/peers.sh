# shellcheck shell=bash disable=SC2154  # $dir is scripts/bench's, $excludes and the node nodes.sh's
# restic and borg (Debian's packages) as peers of govern-backup in scripts/bench (sourced by
# it): the DSS doc's procedure with each of them as the archiver. DSS is stopped around the
# database dump and the tool, as the doc asks; the dump is uncompressed (pg_dump -Fc -Z0) so
# that the tool's own chunking and compression see the rows (a compressed dump would defeat
# their deduplication), and it goes into the same snapshot as the data dir.
# restic: its repository is always encrypted (AES-256, one password file); default
# compression (repository format 2, zstd "auto"). borg: no encryption (govern-backup's sets are
# not encrypted by default either), zstd level 3 like govern-backup. Both skip govern-backup's
# default excludes. Needs: $dir, the current node (nodes.sh: the bench node), $excludes.

# Each tool's repository and cache live under $dir; exported for the legs' commands.
peers_init() {
  export RESTIC_REPOSITORY=$dir/restic RESTIC_PASSWORD_FILE=$dir/restic.pass
  export RESTIC_CACHE_DIR=$dir/restic-cache
  export BORG_REPO=$dir/borg BORG_BASE_DIR=$dir/borg-base
  export BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK=yes BORG_RELOCATED_REPO_ACCESS_IS_OK=yes
  (umask 077; od -An -N24 -tx1 /dev/urandom | tr -d ' \n' > "$RESTIC_PASSWORD_FILE")
  mkdir -p "$dir/peer-dump"
  local e
  for e in "${excludes[@]}"; do echo "$DATA_DIR/$e"; done > "$dir/peer-excludes"
  restic init --quiet >/dev/null
  borg init --encryption=none
}

# peer_command restic|borg NIGHT: the command of one backup with that tool (night 0: the
# first, full one). DSS is started again whatever happened. The leg's shell expands the
# variables (the table shows the command as written).
# shellcheck disable=SC2016
peer_command() {
  local archive
  case "$1" in
    restic) archive='restic backup --quiet --host govern-bench --exclude-file "$dir/peer-excludes"' ;;
    borg) archive='borg create --compression zstd,3 --exclude-from "$dir/peer-excludes" ::night-'$2 ;;
  esac
  echo 'dss stop >/dev/null; "$PG_BIN/pg_dump" -Fc -Z0 -f "$dir/peer-dump/govern.dump" && '"$archive"' "$DATA_DIR" "$dir/peer-dump"; status=$?; dss start >/dev/null; exit $status'
}

peer_repository() { case "$1" in restic) echo "$RESTIC_REPOSITORY" ;; borg) echo "$BORG_REPO" ;; esac; }
