#include "tests/support/dump_summary.h"

#include "pg/dump.h"
#include "pg/dump_table_summary.h"
#include "pg/dump_tools.h"

namespace gb {
namespace testing {
namespace {

class DroppingSink : public ByteSink {
 public:
  Status Write(const void*, size_t) override { return Status::Ok(); }
};

}  // namespace

Result<std::map<std::string, TableSummary>> DumpSummaries(const ConnectionParams& params) {
  GB_ASSIGN_OR_RETURN(DumpTools tools, FindDumpToolsFor("", 15));
  GB_ASSIGN_OR_RETURN(std::unique_ptr<PgDump> dump, PgDump::Start(tools, params, ""));
  DumpTableSummary summary;
  DroppingSink dropped;
  SummarizingSink sink(dropped, summary);
  GB_RETURN_IF_ERROR(dump->PumpTo(sink).status());
  return summary.Finish();
}

}  // namespace testing
}  // namespace gb
