/* One byte written just past malloc_usable_size() of a small block (into the block's
 * last word, where a canary is kept), then free. Expected: "buffer overflow" (debug:
 * its trailer; secure-full: the canary); with abort_on_error=0 the program goes on,
 * and the block is leaked: it must not be handed out again (else exit 1). */
#include "fault.h"

#define SIZE 100
#define REUSE_TRIES 20000

int main(void) {
  unsigned char* p = overflow_one_byte(SIZE);
  if (p == NULL) return SETUP_FAILED;
  free(hide(p));
  return expect_leaked(p, SIZE, REUSE_TRIES, "canary overwrite (the block was leaked)");
}
