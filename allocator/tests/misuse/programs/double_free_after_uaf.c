/* A block freed, its free-list word overwritten (a use after free), then freed
 * again. Expected (secure): "double free": the second free still finds the block's
 * free mark (secure.h), whatever became of its link. */
#include "fault.h"

int main(void) {
  unsigned char* p = malloc(hide_size(64));
  if (p == NULL) return SETUP_FAILED;
  free(p);
  for (size_t i = 0; i < 8; i++) poke(p, i, 0x41);
  free(hide(p));
  return survived("double free after a use-after-free write over the link");
}
