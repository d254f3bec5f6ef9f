#include "pg/database_mark.h"

#include <spdlog/spdlog.h>

#include <pqxx/pqxx>

#include "pg/pq_session.h"

namespace gb {
namespace {

std::map<std::string, std::string> ReadSequences(pqxx::transaction_base& tx) {
  // last_value reads the sequence as it is now, whatever the snapshot: what a dump records.
  const pqxx::result rows = tx.exec(
      "SELECT schemaname, sequencename, coalesce(last_value::text, '') "
      "FROM pg_catalog.pg_sequences ORDER BY 1, 2");
  std::map<std::string, std::string> sequences;
  for (const auto& row : rows)
    sequences[row[0].as<std::string>() + "." + row[1].as<std::string>()] = row[2].as<std::string>();
  return sequences;
}

// "" when both hold the same sequences with the same values, else the first difference.
std::string SequenceChange(const std::map<std::string, std::string>& before,
                           const std::map<std::string, std::string>& now) {
  for (const auto& [name, value] : now) {
    const auto was = before.find(name);
    if (was == before.end()) return "sequence " + name + " was created";
    if (was->second != value)
      return "sequence " + name + " moved from " + (was->second.empty() ? "unused" : was->second) +
             " to " + value;
  }
  for (const auto& [name, value] : before)
    if (now.count(name) == 0) return "sequence " + name + " was dropped";
  return "";
}

}  // namespace

namespace pq {

DatabaseMark ReadDatabaseMark(pqxx::transaction_base& tx) {
  // The txid_ functions (PostgreSQL 10 on; pg_current_snapshot() only from 13) give xids
  // with their epoch, which never wrap.
  const pqxx::row snapshot = tx.exec1(
      "SELECT txid_snapshot_xmin(s), txid_snapshot_xmax(s), "
      "coalesce(array_to_string(ARRAY(SELECT txid_snapshot_xip(s)), ','), '') "
      "FROM txid_current_snapshot() AS s");
  DatabaseMark mark;
  mark.xmin = snapshot[0].as<uint64_t>();
  mark.xmax = snapshot[1].as<uint64_t>();
  const std::string in_progress = snapshot[2].as<std::string>();
  for (size_t at = 0; at < in_progress.size();) {
    size_t end = in_progress.find(',', at);
    if (end == std::string::npos) end = in_progress.size();
    mark.in_progress.push_back(std::stoull(in_progress.substr(at, end - at)));
    at = end + 1;
  }
  mark.sequences = ReadSequences(tx);
  return mark;
}

}  // namespace pq

Result<std::optional<std::string>> WhatChangedSince(const ConnectionParams& params,
                                                    const DatabaseMark& mark) {
  GB_ASSIGN_OR_RETURN(std::unique_ptr<pqxx::connection> connection, pq::Connect(params));
  try {
    pqxx::read_transaction tx(*connection);
    const uint64_t xmax = tx.exec1("SELECT txid_snapshot_xmax(txid_current_snapshot())")[0]
                              .as<uint64_t>();
    if (xmax < mark.xmax) {
      return std::optional<std::string>("the server's transaction ids went back (" +
                                        std::to_string(mark.xmax) + " then " +
                                        std::to_string(xmax) + "): another server?");
    }
    if (xmax - mark.xmax > kMaxXidsToExamine) {
      return std::optional<std::string>(std::to_string(xmax - mark.xmax) +
                                        " transactions started since");
    }
    // What the mark's snapshot could not see: in progress then, or started since.
    std::string unseen;
    for (uint64_t xid : mark.in_progress) unseen += (unseen.empty() ? "" : ",") + std::to_string(xid);
    for (uint64_t xid = mark.xmax; xid < xmax; ++xid)
      unseen += (unseen.empty() ? "" : ",") + std::to_string(xid);
    if (!unseen.empty()) {
      const uint64_t committed =
          tx.exec1("SELECT count(*) FROM unnest('{" + unseen +
                   "}'::bigint[]) AS x WHERE txid_status(x) = 'committed'")[0]
              .as<uint64_t>();
      if (committed > 0) {
        return std::optional<std::string>(std::to_string(committed) + " transaction" +
                                          (committed == 1 ? "" : "s") + " committed since");
      }
    }
    const std::string sequence = SequenceChange(mark.sequences, ReadSequences(tx));
    if (!sequence.empty()) return std::optional<std::string>(sequence);
    spdlog::debug("database unchanged since snapshot xmax {} ({} xids started since, none committed)",
                  mark.xmax, xmax - mark.xmax);
    return std::optional<std::string>();
  } catch (const std::exception& error) {
    return pq::QueryError("checking whether the database changed", params, error);
  }
}

}  // namespace gb
