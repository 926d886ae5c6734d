/* One byte written just past malloc_usable_size() of a small block (into the block's
 * last word, where a canary is kept), then free. Expected: "buffer overflow" (debug:
 * its trailer; secure-full: the canary); with abort_on_error=0 the program goes on,
 * and the block is leaked: it must not be handed out again (else exit 1). */
#include "fault.h"

#define SIZE 100
#define REUSE_TRIES 20000

int main(void) {
  unsigned char* p = malloc(hide_size(SIZE));
  if (p == NULL) return SETUP_FAILED;
  size_t usable = malloc_usable_size(p);
  memset(p, 1, usable);
  /* a byte that differs from what is there: a canary byte that happened to equal
   * the written one would be no overwrite at all (1 run in 256) */
  poke(p, usable, (unsigned char)~((volatile unsigned char*)p)[usable]);
  free(hide(p));
  if (allocate_until(p, SIZE, REUSE_TRIES) != 0) {
    printf("the overflowed block was handed out again\n");
    return 1;
  }
  return survived("canary overwrite (the block was leaked)");
}
