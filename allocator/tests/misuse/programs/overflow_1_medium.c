/* One byte written past the requested size of a 20000-byte block (a medium size
 * class), then free. Expected (debug): "buffer overflow". */
#include "fault.h"

int main(void) {
  size_t size = hide_size(20000);
  unsigned char* p = malloc(size);
  if (p == NULL) return SETUP_FAILED;
  memset(p, 1, size);
  poke(p, size, 0x41);
  free(hide(p));
  return survived("1-byte overflow of a medium block");
}
