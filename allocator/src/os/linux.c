/* os/linux.c: the port (os.h) on Linux: system calls and nothing else. It includes
 * no other allocator header: counting, fault injection and placement are memory.c's. */
#include <errno.h>
#include <linux/membarrier.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "os.h"

#ifndef MADV_FREE
#define MADV_FREE 8
#endif

/* Until sa_os_init has asked: the page size of x86-64 and most aarch64 systems. */
#define SA_OS_DEFAULT_PAGE_SIZE 4096

static size_t page_size = SA_OS_DEFAULT_PAGE_SIZE;
static bool membarrier_ready;

void sa_os_init(void) {
  long size = sysconf(_SC_PAGESIZE);
  if (size > 0) page_size = (size_t)size;
  int saved = errno;
  membarrier_ready = syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0;
  errno = saved;
}

bool sa_os_barrier_all_threads(void) {
  if (!membarrier_ready) return false;
  int saved = errno;
  bool ok = syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) == 0;
  errno = saved;
  return ok;
}

size_t sa_os_page_size(void) { return page_size; }

void* sa_os_map(void* hint, size_t size, bool commit, size_t huge_page_size) {
  int flags = MAP_PRIVATE | MAP_ANONYMOUS;
  if (huge_page_size != 0) {
#if defined(MAP_HUGETLB) && defined(MAP_HUGE_SHIFT)
    /* Huge OS pages must be reserved at mmap time: with MAP_NORESERVE a system
     * without free huge pages maps them anyway and the first touch is a SIGBUS. */
    flags |= MAP_HUGETLB | (__builtin_ctzl(huge_page_size) << MAP_HUGE_SHIFT);
#else
    return NULL;
#endif
  } else {
    flags |= MAP_NORESERVE;
  }
  void* p = mmap(hint, size, commit ? PROT_READ | PROT_WRITE : PROT_NONE, flags, -1, 0);
  return p == MAP_FAILED ? NULL : p;
}

bool sa_os_unmap(void* p, size_t size) { return munmap(p, size) == 0; }

bool sa_os_protect(void* p, size_t size, bool read_write) {
  int saved = errno;
  bool ok = mprotect(p, size, read_write ? PROT_READ | PROT_WRITE : PROT_NONE) == 0;
  errno = saved;
  return ok;
}

bool sa_os_discard(void* p, size_t size, bool now) {
  int saved = errno;
  bool ok = true;
  /* MADV_FREE where the kernel has it, else the eager kind. */
  if (now || madvise(p, size, MADV_FREE) != 0) ok = madvise(p, size, MADV_DONTNEED) == 0;
  errno = saved;
  return ok;
}

bool sa_os_resize(void* p, size_t old_size, size_t new_size) {
  int saved = errno;
  void* q = mremap(p, old_size, new_size, 0);
  errno = saved;
  return q == p;
}

bool sa_os_move(void* p, size_t size, void* target) {
  int saved = errno;
  void* q = mremap(p, size, size, MREMAP_MAYMOVE | MREMAP_FIXED, target);
  errno = saved;
  return q == target;
}

void sa_os_advise_thp(void* p, size_t size, bool enable) {
#if defined(MADV_HUGEPAGE) && defined(MADV_NOHUGEPAGE)
  int saved = errno;
  madvise(p, size, enable ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
  errno = saved;
#else
  (void)p;
  (void)size;
  (void)enable;
#endif
}

void sa_os_write_stderr(const char* msg, size_t len) {
  while (len > 0) {
    ssize_t n = write(STDERR_FILENO, msg, len);
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      return;
    }
    msg += n;
    len -= (size_t)n;
  }
}

int64_t sa_os_clock_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
