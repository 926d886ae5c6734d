/* malloc_usable_size() of memory from another allocator: 0, "invalid pointer" when
 * errors are shown (the debug build aborts by default). Exit 3 if not 0. */
#include "fault.h"

int main(void) {
  unsigned char* region = foreign_block(1 << 20);
  size_t n = malloc_usable_size(hide(region + 4096));
  printf("malloc_usable_size returned %zu\n", n);
  if (n != 0) return 3;
  return survived("malloc_usable_size of an mmap'd pointer");
}
