/* guard_fault.h: a fault that must end at a guard page (the misuse programs, the
 * usable-size test).
 *
 * A SIGSEGV proves little by itself: past the end of a mapping there may be nothing
 * mapped at all. expect_guard_fault() makes the first SIGSEGV look the faulting
 * address up in /proc/self/maps: in an inaccessible mapping (a guard page: ---p), the
 * default action is restored and the access, retried, kills the program with
 * SIGSEGV; anywhere else, it says so and exits NOT_AT_A_GUARD. Header-only; the
 * handler allocates nothing. */
#ifndef SA_GUARD_FAULT_H
#define SA_GUARD_FAULT_H

#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NOT_AT_A_GUARD 3

static char guard_fault_maps[1 << 20]; /* a static buffer: the handler cannot allocate */

static inline void guard_fault_say(const char* text) {
  if (write(STDERR_FILENO, text, strlen(text)) < 0) return;
}

/* Whether addr lies in a mapping whose permissions are ---p (read from /proc). */
static inline int in_guard_mapping(uintptr_t addr) {
  int fd = open("/proc/self/maps", O_RDONLY);
  if (fd < 0) return 0;
  size_t len = 0;
  ssize_t n;
  while (len < sizeof guard_fault_maps - 1 &&
         (n = read(fd, guard_fault_maps + len, sizeof guard_fault_maps - 1 - len)) > 0) {
    len += (size_t)n;
  }
  close(fd);
  guard_fault_maps[len] = '\0';
  for (char* line = guard_fault_maps; *line != '\0';) {
    char* end;
    uintptr_t from = (uintptr_t)strtoull(line, &end, 16);
    uintptr_t to = (uintptr_t)strtoull(end + 1, &end, 16);
    if (addr >= from && addr < to) return strncmp(end + 1, "---p", 4) == 0;
    char* next = strchr(line, '\n');
    if (next == NULL) break;
    line = next + 1;
  }
  return 0;
}

static inline void guard_fault_on_segv(int sig, siginfo_t* info, void* context) {
  (void)context;
  if (in_guard_mapping((uintptr_t)info->si_addr)) {
    guard_fault_say("fault: SIGSEGV in a guard page\n");
    signal(sig, SIG_DFL); /* the access is retried and kills the program */
    return;
  }
  guard_fault_say("fault: SIGSEGV outside any guard page (an unmapped or accessible address)\n");
  _exit(NOT_AT_A_GUARD);
}

static inline void expect_guard_fault(void) {
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_sigaction = guard_fault_on_segv;
  action.sa_flags = SA_SIGINFO | SA_RESETHAND;
  sigemptyset(&action.sa_mask);
  if (sigaction(SIGSEGV, &action, NULL) != 0) abort(); /* no handler: nothing to test */
}

#endif /* SA_GUARD_FAULT_H */
