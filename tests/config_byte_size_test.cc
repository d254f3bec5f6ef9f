// ParseByteSize: the sizes of repository part_size.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "config/config.h"

namespace gb {
namespace {

constexpr std::uint64_t kMiB = 1024 * 1024;

TEST(ParseByteSizeTest, BinaryAndDecimalUnits) {
  EXPECT_EQ(*ParseByteSize("5242880B"), 5 * kMiB);
  EXPECT_EQ(*ParseByteSize("512KiB"), 512 * 1024u);
  EXPECT_EQ(*ParseByteSize("16MiB"), 16 * kMiB);
  EXPECT_EQ(*ParseByteSize("1GiB"), 1024 * kMiB);
  EXPECT_EQ(*ParseByteSize("2TiB"), 2 * 1024 * 1024 * kMiB);
  EXPECT_EQ(*ParseByteSize("3kB"), 3000u);
  EXPECT_EQ(*ParseByteSize("5MB"), 5000000u);
  EXPECT_EQ(*ParseByteSize("2GB"), 2000000000u);
  EXPECT_EQ(*ParseByteSize("1TB"), 1000000000000u);
  EXPECT_EQ(*ParseByteSize("0B"), 0u);
}

TEST(ParseByteSizeTest, UnitsIgnoreCaseAndMayFollowASpace) {
  EXPECT_EQ(*ParseByteSize("16mib"), 16 * kMiB);
  EXPECT_EQ(*ParseByteSize("16MIB"), 16 * kMiB);
  EXPECT_EQ(*ParseByteSize("16 MiB"), 16 * kMiB);
}

TEST(ParseByteSizeTest, RefusesWhatIsNotOneWholeNumberAndAUnit) {
  for (const char* text : {"", "16", "MiB", "16M", "16G", "1.5GiB", "-5MiB", "16MiBs", " 16MiB",
                           "16MiB ", "16 Mi B", "5MiB5", "0x10MiB"}) {
    auto size = ParseByteSize(text);
    ASSERT_FALSE(size.ok()) << "'" << text << "' gave " << *size;
    EXPECT_EQ(size.status().code(), Code::kUsage);
    EXPECT_EQ(size.status().message(),
              "invalid size '" + std::string(text) +
                  "': use a whole number followed by B, kB, MB, GB, KiB, MiB or GiB");
  }
}

TEST(ParseByteSizeTest, RefusesOverflow) {
  EXPECT_EQ(*ParseByteSize("18446744073709551615B"), UINT64_MAX);
  EXPECT_FALSE(ParseByteSize("18446744073709551616B").ok());
  EXPECT_FALSE(ParseByteSize("17179869184GiB").ok());  // 2^34 GiB = 2^64 bytes
  EXPECT_EQ(*ParseByteSize("17179869183GiB"), (std::uint64_t{17179869183} << 30));
}

}  // namespace
}  // namespace gb
