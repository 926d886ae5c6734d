/* Eight bytes written into a freed block (past its free-list word), then blocks of
 * the same size allocated until the freed one is handed out again.
 * Expected (debug): "write after free". */
#include "fault.h"

int main(void) {
  unsigned char* p = malloc(hide_size(64));
  if (p == NULL) return SETUP_FAILED;
  free(p);
  for (size_t i = 16; i < 24; i++) poke(p, i, 0x42);
  size_t took = allocate_until(p, 64, 100000);
  printf("the freed block came back after %zu allocations\n", took);
  return survived("write after free");
}
