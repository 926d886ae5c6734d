/* free() of a pointer into the stack. Expected (debug): "invalid pointer". */
#include "fault.h"

int main(void) {
  _Alignas(16) unsigned char frame[256];
  memset(frame, 1, sizeof frame);
  free(hide(frame + 64));
  fault_sink = frame;
  return survived("free of a stack pointer");
}
