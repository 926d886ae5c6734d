/* realloc() of a pointer into the stack: NULL, "invalid pointer" when errors are
 * shown (the debug build aborts by default). Exit status 3 if it returned a block. */
#include "fault.h"

int main(void) {
  _Alignas(16) unsigned char frame[256];
  memset(frame, 9, sizeof frame);
  void* q = realloc(hide(frame + 32), hide_size(1000));
  printf("realloc returned %p\n", q);
  if (q != NULL) return 3;
  if (frame[32] != 9) return 4;
  return survived("realloc of a stack pointer");
}
