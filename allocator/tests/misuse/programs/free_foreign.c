/* free() of memory from another allocator (a private anonymous mapping, as a
 * second malloc implementation or a custom arena would own).
 * Expected (debug): "invalid pointer". */
#include "fault.h"

int main(void) {
  unsigned char* region = foreign_block(1 << 20);
  free(hide(region + 4096));
  return survived("free of an mmap'd pointer");
}
