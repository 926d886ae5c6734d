/* free() of a live block's address + 1. Expected (debug): "invalid pointer". */
#include "fault.h"

int main(void) {
  unsigned char* p = malloc(hide_size(64));
  if (p == NULL) return SETUP_FAILED;
  free(hide(p + 1));
  fault_sink = p;
  return survived("free of an unaligned pointer");
}
