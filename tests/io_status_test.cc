// Status: the errno of a failed system call travels with the error, so that callers decide
// on the kind of failure rather than on its text.
#include "io/status.h"

#include <cerrno>

#include <gtest/gtest.h>

#include "io/files.h"

namespace gb {
namespace {

TEST(StatusTest, ErrnoSurvivesContextCodeAndHint) {
  const Status error = Status::FromErrno("cannot open /x", ENOENT, "check the path");
  EXPECT_EQ(error.system_errno(), ENOENT);
  EXPECT_EQ(error.message(), "cannot open /x: No such file or directory");

  const Status changed = error.WithContext("config").WithCode(Code::kUsage).WithHint("other");
  EXPECT_EQ(changed.system_errno(), ENOENT);
  EXPECT_EQ(changed.code(), Code::kUsage);
  EXPECT_EQ(changed.message(), "config: cannot open /x: No such file or directory");
  EXPECT_EQ(changed.hint(), "other");

  EXPECT_EQ(Status::Failed("no errno here").system_errno(), 0);
  EXPECT_EQ(Status::Ok().system_errno(), 0);
}

TEST(StatusTest, FileErrorsCarryTheirErrno) {
  Result<std::string> missing = ReadWholeFile("/nonexistent-dir-for-gb-test/file");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().system_errno(), ENOENT);
  Result<std::string> directory = ReadWholeFile("/");
  ASSERT_FALSE(directory.ok());
  EXPECT_EQ(directory.status().system_errno(), EISDIR);
}

}  // namespace
}  // namespace gb
