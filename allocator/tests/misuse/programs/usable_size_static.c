/* malloc_usable_size() of a pointer into static storage: 0, "invalid pointer" when
 * errors are shown (the debug build aborts by default). Exit 3 if not 0. */
#include "fault.h"

static _Alignas(64) unsigned char area[4096] = {1};

int main(void) {
  size_t n = malloc_usable_size(hide(area + 64));
  printf("malloc_usable_size returned %zu\n", n);
  if (n != 0) return 3;
  return survived("malloc_usable_size of a static pointer");
}
