/* A use-after-free write of 8 bytes at the start of a freed block (its free-list
 * word), then blocks of that size allocated until the allocator walks the list.
 * Expected (secure): "corrupted free list"; the written value is never followed. */
#include "fault.h"

int main(void) {
  unsigned char* a = malloc(hide_size(64));
  unsigned char* b = malloc(hide_size(64));
  if (a == NULL || b == NULL) return SETUP_FAILED;
  free(a);
  free(b);
  for (size_t i = 0; i < 8; i++) poke(b, i, 0x41);
  allocate_until(NULL, 64, 100000); /* never NULL: runs to the limit */
  return survived("use-after-free write into a free block's link");
}
