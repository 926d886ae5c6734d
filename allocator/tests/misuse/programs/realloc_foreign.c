/* realloc() of memory from another allocator. Release and debug check this:
 * realloc returns NULL (and reports "invalid pointer" when errors are shown; the
 * debug build aborts by default). Exit status 3 if realloc returned a block. */
#include "fault.h"

int main(void) {
  unsigned char* region = foreign_block(1 << 20);
  errno = 0;
  void* q = realloc(hide(region + 4096), hide_size(100));
  int err = errno;
  printf("realloc returned %p, errno %d\n", q, err);
  if (q != NULL) return 3;
  if (region[4096] != 0x5A) return 4; /* the foreign memory must be left alone */
  return survived("realloc of an mmap'd pointer");
}
