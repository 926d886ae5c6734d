/* realloc() of a live block's address + 1: NULL, "invalid pointer" when errors are
 * shown (the debug build aborts by default). Exit 3 if it returned a block, 4 if
 * the real block was damaged. */
#include "fault.h"

int main(void) {
  unsigned char* p = malloc(hide_size(64));
  if (p == NULL) return SETUP_FAILED;
  memset(p, 3, 64);
  void* q = realloc(hide(p + 1), hide_size(1000));
  printf("realloc returned %p\n", q);
  if (q != NULL) return 3;
  for (size_t i = 0; i < 64; i++) {
    if (p[i] != 3) return 4;
  }
  free(p);
  return survived("realloc of an unaligned pointer");
}
