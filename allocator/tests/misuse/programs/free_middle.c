/* free() of a pointer into the middle of a live 100-byte block (block + 48: aligned
 * to 16, so only the block boundaries tell). Expected (secure, debug): "invalid pointer". */
#include "fault.h"

int main(void) {
  unsigned char* p = malloc(hide_size(100));
  if (p == NULL) return SETUP_FAILED;
  memset(p, 7, 100);
  free(hide(p + 48));
  fault_sink = p;
  return survived("free of a pointer into the middle of a block");
}
