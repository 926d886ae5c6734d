/* A block freed, then many allocations and frees of other sizes (the freed block
 * stays free), then freed again. Expected (debug): "double free". */
#include "fault.h"

int main(void) {
  void* p = malloc(hide_size(48));
  if (p == NULL) return SETUP_FAILED;
  free(p);
  void* keep[256] = {0};
  for (size_t i = 0; i < 20000; i++) {
    size_t slot = (i * 7919) % 256;
    free(keep[slot]);
    /* Sizes of other classes than 48 bytes: 16, 32, 64..., 2000. */
    size_t size = 64 + (i * 131) % 2000;
    if (i % 5 == 0) size = 16;
    keep[slot] = malloc(hide_size(size));
  }
  for (size_t i = 0; i < 256; i++) free(keep[i]);
  free(hide(p));
  return survived("double free after churn");
}
