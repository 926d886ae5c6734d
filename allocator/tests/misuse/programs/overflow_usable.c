/* Eight bytes written past malloc_usable_size() of a block (so past every byte the
 * program may use, into whatever follows: the debug trailer, or in a release
 * layout the free-list word of the free neighbour), then blocks of that size
 * allocated and the block freed. Expected (debug): "buffer overflow" or
 * "corrupted free list". */
#include "fault.h"

int main(void) {
  unsigned char* a = malloc(hide_size(64));
  unsigned char* b = malloc(hide_size(64));
  if (a == NULL || b == NULL) return SETUP_FAILED;
  size_t usable = malloc_usable_size(a);
  free(b);
  for (size_t i = 0; i < 8; i++) poke(a, usable + i, 0x43);
  allocate_until(NULL, 64, 1000);
  free(hide(a));
  return survived("overflow past the usable size");
}
