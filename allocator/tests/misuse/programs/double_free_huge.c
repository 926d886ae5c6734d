/* A huge block (8 MiB, a segment of its own, kept in the huge-block cache once
 * freed) freed twice. Expected (debug): "double free" or "invalid pointer". */
#include "fault.h"

int main(void) {
  size_t size = hide_size(8u << 20);
  unsigned char* p = malloc(size);
  if (p == NULL) return SETUP_FAILED;
  memset(p, 1, size);
  free(p);
  free(hide(p));
  /* Were the block cached twice, two allocations would now get the same memory. */
  unsigned char* a = malloc(size);
  unsigned char* b = malloc(size);
  printf("after the double free: %p and %p\n", (void*)a, (void*)b);
  if (a != NULL && a == b) return 3;
  return survived("double free of a huge block");
}
