/* A large block (1 MiB, one page filling a segment) freed twice.
 * Expected (debug): "double free" or "invalid pointer". */
#include "fault.h"

int main(void) {
  size_t size = hide_size(1u << 20);
  unsigned char* p = malloc(size);
  if (p == NULL) return SETUP_FAILED;
  memset(p, 1, size);
  free(p);
  free(hide(p));
  unsigned char* a = malloc(size);
  unsigned char* b = malloc(size);
  printf("after the double free: %p and %p\n", (void*)a, (void*)b);
  if (a != NULL && a == b) return 3;
  return survived("double free of a large block");
}
