// Small text helpers shared across the tool: shell quoting for commands shown to the admin,
// joining lists for messages, random hex suffixes for names. Stateless; safe from any thread.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace gb {

// `text` quoted for /bin/sh when it needs quoting ("a b" -> 'a b'), else unchanged.
std::string ShellQuote(const std::string& text);

// "a, b, c" (or with another separator).
std::string Join(const std::vector<std::string>& items, const std::string& separator = ", ");

// `bytes` random bytes from the kernel's CSPRNG as 2*bytes lowercase hex digits.
std::string RandomHex(size_t bytes);

// `text` with A-Z made a-z (other bytes, UTF-8 included, unchanged).
std::string AsciiLowercase(std::string_view text);

// `text` without leading and trailing white space.
std::string Trim(std::string_view text);

// The lines of `text`, without their "\n" or "\r\n"; no empty last line for a final newline.
std::vector<std::string> SplitLines(std::string_view text);

}  // namespace gb
