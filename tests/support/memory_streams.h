// Tests name the in-memory streams of io/byte_stream.h as testing::StringSink/StringSource.
#pragma once

#include "io/byte_stream.h"

namespace gb {
namespace testing {

using ::gb::StringSink;
using ::gb::StringSource;

}  // namespace testing
}  // namespace gb
