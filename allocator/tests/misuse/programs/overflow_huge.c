/* A linear overflow off the end of a huge (8 MiB) block: bytes written from its
 * requested end on, 64 apart, for 1 MiB. Expected (secure): killed by SIGSEGV at the
 * guard page right after the block's end rounded up to the OS page (the fault is
 * checked to be in a guard: expect_guard_fault). */
#include "fault.h"

#define HUGE_SIZE ((size_t)8 << 20)
#define SPAN ((size_t)1 << 20)
#define STEP 64

int main(void) {
  size_t size = hide_size(HUGE_SIZE + 100);
  unsigned char* p = malloc(size);
  if (p == NULL) return SETUP_FAILED;
  expect_guard_fault();
  for (size_t i = size; i < size + SPAN; i += STEP) poke(p, i, 0x45);
  fault_sink = p;
  return survived("linear overflow off a huge block's end");
}
