#include "datadir/archive_locale.h"

#include <spdlog/spdlog.h>

namespace gb {

ScopedUtf8Locale::ScopedUtf8Locale() {
  utf8_ = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
  if (utf8_ == (locale_t)0) {
    spdlog::debug("no C.UTF-8 locale; archive member names use the process locale");
    return;
  }
  previous_ = uselocale(utf8_);
}

ScopedUtf8Locale::~ScopedUtf8Locale() {
  if (utf8_ == (locale_t)0) return;
  uselocale(previous_);
  freelocale(utf8_);
}

}  // namespace gb
