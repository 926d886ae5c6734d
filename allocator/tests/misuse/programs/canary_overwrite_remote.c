/* One byte written just past malloc_usable_size() of a block of the main thread (into
 * its canary word), then the block freed by another thread. Expected: "buffer
 * overflow", reported by the freeing thread before the block joins any list; with
 * abort_on_error=0 the block is leaked: the owner must not hand it out again. */
#include <pthread.h>

#include "fault.h"

#define SIZE 200
#define REUSE_TRIES 20000

static void* free_it(void* p) {
  free(hide(p));
  return NULL;
}

int main(void) {
  unsigned char* p = malloc(hide_size(SIZE));
  if (p == NULL) return SETUP_FAILED;
  size_t usable = malloc_usable_size(p);
  memset(p, 1, usable);
  /* a byte that differs from what is there: a canary byte that happened to equal
   * the written one would be no overwrite at all (1 run in 256) */
  poke(p, usable, (unsigned char)~((volatile unsigned char*)p)[usable]);
  pthread_t t;
  if (pthread_create(&t, NULL, free_it, p) != 0) return SETUP_FAILED;
  pthread_join(t, NULL);
  if (allocate_until(p, SIZE, REUSE_TRIES) != 0) {
    printf("the overflowed block was handed out again\n");
    return 1;
  }
  return survived("canary overwrite, freed by another thread (the block was leaked)");
}
