/* free() of a pointer into static storage. Expected (debug): "invalid pointer". */
#include "fault.h"

static _Alignas(64) unsigned char area[4096] = {1};

int main(void) {
  free(hide(area + 128));
  return survived("free of a static pointer");
}
