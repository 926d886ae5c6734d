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
  unsigned char* p = overflow_one_byte(SIZE);
  if (p == NULL) return SETUP_FAILED;
  pthread_t t;
  if (pthread_create(&t, NULL, free_it, p) != 0) return SETUP_FAILED;
  pthread_join(t, NULL);
  return expect_leaked(p, SIZE, REUSE_TRIES, "canary overwrite, freed by another thread (the block was leaked)");
}
