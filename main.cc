#include <malloc.h>

#include "coordinator/commands.h"

int main(int argc, char** argv) {
  // Frame buffers (4-8 MiB) come and go on several threads. With glibc's default, the first
  // one freed raises the mmap threshold above their size, and later ones stay in per-thread
  // arenas after they are freed: a verify's peak RSS was 78-94 MB, 70 MB with a fixed 1 MiB
  // threshold (measured on a 215 MB set), for a few page faults per frame.
  mallopt(M_MMAP_THRESHOLD, 1 << 20);
  return gb::RunCommandLine(argc, argv);
}
