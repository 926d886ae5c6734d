/* A block freed, handed out again by a later malloc of the same size, freed by its
 * new owner, then freed a third time through the first, stale pointer.
 * Expected (debug): "double free". */
#include "fault.h"

int main(void) {
  void* p = malloc(hide_size(80));
  if (p == NULL) return SETUP_FAILED;
  free(p);
  if (allocate_until(p, 80, 100000) == 0) {
    fprintf(stderr, "setup: the freed block never came back\n");
    return SETUP_FAILED;
  }
  free(p); /* the new owner's legitimate free */
  free(hide(p));
  return survived("double free after reuse");
}
