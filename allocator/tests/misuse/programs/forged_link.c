/* The classic attack on a free list: a use-after-free write puts the address the
 * attacker wants (here a static buffer) into a freed block's link, so that a later
 * malloc returns it. Exit 1 if malloc ever handed the forged address out.
 * Expected (secure): "corrupted free list", and the forged address never returned. */
#include "fault.h"

static unsigned char target[256] __attribute__((aligned(64)));

int main(void) {
  unsigned char* a = malloc(hide_size(64));
  if (a == NULL) return SETUP_FAILED;
  free(a);
  void* forged = target + 64;
  memcpy(hide(a), &forged, sizeof(forged));
  if (allocate_until(forged, 64, 100000) != 0) {
    printf("malloc returned the forged address %p\n", forged);
    return 1;
  }
  return survived("forged free-list link");
}
