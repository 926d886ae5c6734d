/* inspect.c: glibc's inspection calls answer from the allocator under test (issue 9,
 * item 8). A plain program, run with LD_PRELOAD=libshardalloc.so: without our own
 * mallinfo2 and friends it would reach glibc's, which describe glibc's empty arena.
 *
 *   - mallinfo2 and mallinfo with 10 MB live in small, medium and huge blocks:
 *     uordblks counts them (>= 10 MB), and drops once they are freed;
 *   - malloc_trim gives freed memory back: Rss - LazyFree falls by most of 64 MiB of
 *     freed small blocks, and it returns 1;
 *   - malloc_info writes glibc's XML shape, malloc_stats prints on stderr;
 *   - mallopt accepts glibc's parameters (1) and refuses unknown ones (0).
 */
#include "ostest.h"

#include <malloc.h>

#define LIVE_BYTES (10 * 1000 * 1000)
#define TRIM_BYTES (64 * MiB)
#define TRIM_BLOCK 1000
/* malloc_trim must give back at least this share of what was freed. */
#define TRIM_MIN_SHARE 0.75

static void* blocks[TRIM_BYTES / TRIM_BLOCK];

static void check_mallinfo(void) {
  size_t before = mallinfo2().uordblks;
  /* 10 MB: 4 MB of 100-byte blocks, 3 MB of 20000-byte blocks, one 3 MB huge block. */
  size_t small_n = 4000000 / 100, medium_n = 3000000 / 20000, at = 0;
  for (size_t i = 0; i < small_n; i++) blocks[at++] = malloc(100);
  for (size_t i = 0; i < medium_n; i++) blocks[at++] = malloc(20000);
  blocks[at++] = malloc(LIVE_BYTES - small_n * 100 - medium_n * 20000);
  for (size_t i = 0; i < at; i++) memset(blocks[i], 1, 100);
  struct mallinfo2 live = mallinfo2();
  tap_diag("mallinfo2 with 10 MB live: arena %zu, ordblks %zu, hblkhd %zu, uordblks %zu, fordblks %zu, "
           "usmblks %zu (before: uordblks %zu)", live.arena, live.ordblks, live.hblkhd, live.uordblks,
           live.fordblks, live.usmblks, before);
  tap_result(live.uordblks >= before + LIVE_BYTES, "mallinfo2().uordblks counts 10 MB of live blocks");
  tap_result(live.arena > 0 && live.hblkhd >= 3000000, "mallinfo2(): arena and hblkhd describe our memory");
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  struct mallinfo old = mallinfo();
#pragma GCC diagnostic pop
  tap_result(old.uordblks >= LIVE_BYTES, "mallinfo().uordblks counts them too");
  for (size_t i = 0; i < at; i++) free(blocks[i]);
  struct mallinfo2 freed = mallinfo2();
  tap_diag("after the frees: uordblks %zu", freed.uordblks);
  tap_result(freed.uordblks + LIVE_BYTES / 2 <= live.uordblks, "mallinfo2().uordblks drops when they are freed");
}

static void check_trim(void) {
  size_t count = TRIM_BYTES / TRIM_BLOCK;
  for (size_t i = 0; i < count; i++) {
    blocks[i] = malloc(TRIM_BLOCK);
    if (blocks[i] == NULL) return (void)tap_result(false, "malloc_trim: allocating 64 MiB");
    memset(blocks[i], 7, TRIM_BLOCK);
  }
  long long peak = ot_resident_bytes();
  for (size_t i = 0; i < count; i++) free(blocks[i]);
  long long freed = ot_resident_bytes();
  int released = malloc_trim(0);
  long long after = ot_resident_bytes();
  tap_diag("held (Rss - LazyFree): %.1f MiB with 64 MiB live, %.1f MiB after the frees, %.1f MiB after "
           "malloc_trim(0) = %d", ot_mib(peak), ot_mib(freed), ot_mib(after), released);
  if (peak < 0) return tap_skip("malloc_trim gives freed memory back", "no /proc/self/smaps_rollup");
  /* The frees may have purged some already (purge_delay): what counts is what stays. */
  tap_result(released == 1 && peak - after >= (long long)(TRIM_MIN_SHARE * TRIM_BYTES),
             "malloc_trim(0) gives 64 MiB of freed small blocks back (and returns 1)");
}

static void check_info_and_opts(void) {
  char* text = NULL;
  size_t len = 0;
  FILE* f = open_memstream(&text, &len);
  void* keep = malloc(5000);
  int rc = f ? malloc_info(0, f) : -1;
  if (f) fclose(f);
  bool shape = rc == 0 && text != NULL && strncmp(text, "<malloc version=\"1\">", 20) == 0 &&
               strstr(text, "<system type=\"current\" size=\"") != NULL && strstr(text, "</malloc>\n") != NULL;
  if (!shape) tap_diag("malloc_info returned %d: %.300s", rc, text ? text : "(nothing)");
  tap_result(shape, "malloc_info(0, f) writes glibc's XML shape");
  free(text);
  free(keep);
  errno = 0;
  tap_result(malloc_info(1, stderr) == -1 && errno == EINVAL, "malloc_info with options != 0 gives EINVAL");
  malloc_stats();
  static const int params[] = {M_MXFAST, M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD, M_MMAP_MAX,
                               M_CHECK_ACTION, M_PERTURB, M_ARENA_TEST, M_ARENA_MAX};
  bool all = true;
  for (size_t i = 0; i < sizeof params / sizeof params[0]; i++) all = all && mallopt(params[i], 0) == 1;
  tap_result(all && mallopt(12345, 1) == 0, "mallopt accepts glibc's parameters and refuses unknown ones");
}

int main(void) {
  if (!ot_sa_init()) {
    printf("Bail out! the sa_ API is not there: run with LD_PRELOAD=libshardalloc.so\n");
    return 1;
  }
  check_mallinfo();
  check_trim();
  check_info_and_opts();
  return tap_exit_status();
}
