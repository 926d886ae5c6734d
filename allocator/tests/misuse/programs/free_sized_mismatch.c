/* free_sized() (C23) with a size larger than the block was allocated with.
 * Expected (debug): "does not match". */
#include "fault.h"

extern void free_sized(void* p, size_t size) __attribute__((weak));

int main(void) {
  if (free_sized == NULL) {
    fprintf(stderr, "setup: no free_sized in this process\n");
    return SETUP_FAILED;
  }
  void* p = malloc(hide_size(32));
  if (p == NULL) return SETUP_FAILED;
  free_sized(hide(p), hide_size(4096));
  return survived("free_sized with a wrong size");
}
