/* faults_plain.c: a plain program for SHARDALLOC_FAIL_OS_AFTER (driven by faults.c).
 *
 * Allocates every kind of block through the standard names (small, medium, large,
 * huge, realloc growth, aligned, calloc, in the main thread and in a new thread),
 * checks that each failure is NULL with errno ENOMEM and that earlier blocks keep
 * their contents, then allocates every kind again (by then the injected failure has
 * happened). Prints one line without stdio:
 *   nulls=N violations=N corrupted=N works_again=0|1 os_calls=N
 * (os_calls: os.mmap + os.mremap since the start, from the preloaded library's
 * sa_stats_dump). Exit 0 unless something other than a clean failure happened.
 */
#include "ostest.h"

#include <malloc.h>

static int nulls, violations, corrupted;

#define MAX_HELD 3000
static struct {
  char* p;
  size_t size;
} held[MAX_HELD];
static int nheld;

static void take(void* p, int err, size_t size) {
  if (p == NULL) {
    nulls++;
    if (err != ENOMEM) violations++;
    return;
  }
  size_t fill = size < 8192 ? size : 8192;
  memset(p, (int)(nheld % 250) + 1, fill);
  if (nheld < MAX_HELD) {
    held[nheld].p = p;
    held[nheld].size = size;
    nheld++;
  }
}

#define TRY(expr, size)        \
  do {                         \
    errno = 0;                 \
    void* p_ = (expr);         \
    take(p_, errno, (size));   \
  } while (0)

static void* thread_main(void* arg) {
  (void)arg;
  TRY(malloc(100), 100);
  TRY(malloc(30000), 30000);
  TRY(malloc((size_t)6 << 20), (size_t)6 << 20);
  return NULL;
}

static void scenario(void) {
  for (int i = 0; i < 2000; i++) TRY(malloc(1000), 1000);
  for (int i = 0; i < 20; i++) TRY(malloc(30000), 30000);
  for (int i = 0; i < 2; i++) TRY(malloc((2 << 20) - 100), (2 << 20) - 100);
  TRY(malloc((size_t)10 << 20), (size_t)10 << 20);
  TRY(calloc(1, (size_t)7 << 20), (size_t)7 << 20);
  TRY(aligned_alloc((size_t)8 << 20, 1 << 20), 1 << 20);
  TRY(memalign(1 << 24, 100), 100);
  errno = 0;
  char* h = malloc((size_t)4 << 20);
  if (h != NULL) {
    memset(h, 0x5C, 8192);
    errno = 0;
    char* q = realloc(h, (size_t)20 << 20);
    if (q == NULL) {
      nulls++;
      if (errno != ENOMEM) violations++;
      if (h[8191] != 0x5C) corrupted++;
      free(h);
    } else {
      if (q[8191] != 0x5C) corrupted++;
      free(q);
    }
  } else {
    take(NULL, errno, (size_t)4 << 20);
  }
  pthread_t t;
  if (pthread_create(&t, NULL, thread_main, NULL) == 0) pthread_join(t, NULL);
}

int main(void) {
  scenario();
  for (int i = 0; i < nheld; i++) {
    size_t fill = held[i].size < 8192 ? held[i].size : 8192;
    for (size_t k = 0; k < fill; k++) {
      if ((unsigned char)held[i].p[k] != (unsigned)(i % 250) + 1) {
        corrupted++;
        break;
      }
    }
    free(held[i].p);
  }
  /* Every kind again: the injected failure is behind us. */
  int again = 1;
  static const size_t sizes[] = {8, 1000, 30000, (2 << 20) - 100, (size_t)12 << 20};
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    char* p = malloc(sizes[i]);
    if (p == NULL) again = 0;
    else memset(p, 1, sizes[i]);
    free(p);
  }
  long long calls = -1;
  if (ot_sa_init()) {
    char dump[8192];
    ot_stats_dump(dump, sizeof dump);
    calls = ot_stat(dump, "os.mmap", 0) + ot_stat(dump, "os.mremap", 0);
  }
  char line[256];
  snprintf(line, sizeof line, "nulls=%d violations=%d corrupted=%d works_again=%d os_calls=%lld\n", nulls, violations,
           corrupted, again, calls);
  ot_write(1, line);
  return violations || corrupted || !again ? 1 : 0;
}
