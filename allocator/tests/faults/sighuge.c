/* sighuge.c: huge-block malloc and free in a signal handler that interrupted the
 * same (issue 9, item 6). Not async-signal-safe, so it need not work, but it must
 * never hang silently: it works, or the allocator reports and aborts.
 *
 * A child process allocates and frees huge blocks (3-10 MiB) in a loop for RUN_MS
 * while an interval timer fires every TIMER_US; the SIGALRM handler allocates,
 * writes and frees a huge block too. The parent waits at most WATCHDOG_S and accepts
 * only: the child exited 0 (it worked), or it died of SIGABRT after writing a message
 * on stderr (reported, then aborted). A child still running then has hung: not ok.
 * A plain program: run with LD_PRELOAD=libshardalloc.so.
 */
#include "ostest.h"

#include <sys/time.h>

#define RUN_MS 1500
#define TIMER_US 97
#define WATCHDOG_S 10
#define HANDLER_SIZE (3 * MiB)

static volatile sig_atomic_t handler_runs;

static void on_alarm(int sig) {
  (void)sig;
  int saved = errno;
  char* p = malloc(HANDLER_SIZE);
  if (p != NULL) {
    p[0] = 1;
    p[HANDLER_SIZE - 1] = 2;
  }
  free(p);
  handler_runs++;
  errno = saved;
}

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int child_main(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_alarm;
  sa.sa_flags = SA_RESTART;
  sigaction(SIGALRM, &sa, NULL);
  struct itimerval every = {{0, TIMER_US}, {0, TIMER_US}};
  setitimer(ITIMER_REAL, &every, NULL);
  uint64_t rng = 7;
  long long end = now_ms() + RUN_MS;
  unsigned long loops = 0;
  while (now_ms() < end) {
    size_t size = rng_range(&rng, 3 * MiB, 10 * MiB);
    char* p = malloc(size);
    if (p != NULL) p[size / 2] = 3;
    free(p);
    loops++;
  }
  struct itimerval off = {{0, 0}, {0, 0}};
  setitimer(ITIMER_REAL, &off, NULL);
  char line[128];
  snprintf(line, sizeof line, "# child: %lu huge malloc/free pairs, %d in the handler\n", loops, (int)handler_runs);
  ot_write(1, line);
  return 0;
}

int main(void) {
  int err_pipe[2];
  tap_require(pipe(err_pipe) == 0, "a pipe for the child's stderr");
  fflush(stdout);
  pid_t pid = fork();
  tap_require(pid >= 0, "fork");
  if (pid == 0) {
    dup2(err_pipe[1], 2);
    close(err_pipe[0]);
    _exit(child_main());
  }
  close(err_pipe[1]);
  fcntl(err_pipe[0], F_SETFL, O_NONBLOCK);
  static char err_text[4096];
  size_t err_len = 0;
  int status = 0;
  bool done = false;
  for (long waited_ms = 0; waited_ms < WATCHDOG_S * 1000L && !done; waited_ms += 10) {
    usleep(10000);
    ssize_t n = read(err_pipe[0], err_text + err_len, sizeof err_text - 1 - err_len);
    if (n > 0) err_len += (size_t)n;
    done = waitpid(pid, &status, WNOHANG) == pid;
  }
  if (!done) {
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    tap_diag("the child still ran after %d s: killed", WATCHDOG_S);
  }
  ssize_t n = read(err_pipe[0], err_text + err_len, sizeof err_text - 1 - err_len);
  if (n > 0) err_len += (size_t)n;
  err_text[err_len] = 0;
  if (err_len > 0) tap_diag("child's stderr: %.300s", err_text);
  bool worked = done && WIFEXITED(status) && WEXITSTATUS(status) == 0;
  bool reported = done && WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT && err_len > 0;
  if (done && !worked && !reported) {
    tap_diag("the child ended with %s %d", WIFSIGNALED(status) ? "signal" : "exit status",
             WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
  }
  tap_result(worked || reported, "huge malloc/free in a signal handler that interrupted one: works, or reports and "
                                 "aborts (never hangs)");
  return tap_exit_status();
}
