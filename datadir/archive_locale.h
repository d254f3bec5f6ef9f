// libarchive converts member names between the process locale and the UTF-8 of pax
// headers. Under the C locale that conversion mangles non-ASCII names ("é" -> "?"), so
// archive work runs under a thread-local UTF-8 LC_CTYPE: names then pass through as bytes.
#pragma once

#include <locale.h>

namespace gb {

class ScopedUtf8Locale {
 public:
  ScopedUtf8Locale();
  ~ScopedUtf8Locale();
  ScopedUtf8Locale(const ScopedUtf8Locale&) = delete;
  ScopedUtf8Locale& operator=(const ScopedUtf8Locale&) = delete;

 private:
  locale_t utf8_ = (locale_t)0;
  locale_t previous_ = (locale_t)0;
};

}  // namespace gb
