/* A linear overflow from a small block towards the next segment's metadata: bytes
 * written past the block's end, one OS page at a time, up to the end of its 4 MiB
 * segment (where, in an address space without gaps, another segment's header
 * would begin). Expected (secure): killed by SIGSEGV at the guard page that ends
 * every segment, before the segment's end. */
#include "fault.h"

#define SEGMENT_SIZE ((uintptr_t)4 << 20)

int main(void) {
  unsigned char* p = malloc(hide_size(64));
  if (p == NULL) return SETUP_FAILED;
  uintptr_t end = ((uintptr_t)p | (SEGMENT_SIZE - 1)) + 1;
  for (uintptr_t q = (uintptr_t)p + 64; q < end; q += 4096) poke((void*)q, 0, 0x44);
  return survived("linear overflow to the end of the segment");
}
