/* redis-bench: Debian's redis-server under the allocator we were given,
 * loaded by Debian's redis-benchmark, as one command the harness can time.
 *
 *   LD_PRELOAD=lib redis-bench redis-benchmark-arguments...
 *   standard: redis-bench -r 1000000 -n 100000 -q -P 16 lpush a 1 2 3 4 5 lrange a 1 5
 *
 * The harness puts the allocator in LD_PRELOAD. Only the server is to run on it:
 * we re-execute ourselves without it (remembering it in REDIS_BENCH_PRELOAD),
 * start the server with it, and run the client without it. With no allocator the
 * server gets redis_libc_malloc.so (next to this program), since Debian's server
 * is linked with jemalloc and would otherwise not run on glibc at all.
 *
 * The server listens on 127.0.0.1 only, on a port found free by binding to port
 * 0 (redis itself cannot), with no persistence. Once it answers PING the client
 * runs; we print the client's result line and the server's peak RSS, then stop
 * the server with SIGTERM (SIGKILL if it lingers). The server is stopped on every
 * path: a failed client, a server that dies, a signal to us (SIGTERM, SIGINT,
 * SIGHUP), and, through PR_SET_PDEATHSIG, even our own death by SIGKILL.
 *
 * Peak RSS: GNU time reports the largest RSS of the processes waited for below
 * it. The server is reaped by us and counts; the client is never reaped (its exit
 * status is read with WNOWAIT, and after we exit init reaps it), so the figure is
 * the server's (or ours, ~1 MiB), never redis-benchmark's (~8 MiB).
 *
 * REDIS_SERVER and REDIS_BENCHMARK override the programs (for a server built
 * with MALLOC=libc, see workloads/README.md; the tests use them to make the
 * client fail). Exit status: 0 on success, 1 when the server or the client
 * failed or the result line is missing, 2 on a bad argument, 128+N after signal N.
 */
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "../common/cli.h"
#include "../common/clock.h"

static const char usage[] = "redis-benchmark-arguments...  (the wrapper adds -h and -p)";

#define DEFAULT_SERVER "/usr/bin/redis-server"
#define DEFAULT_CLIENT "/usr/bin/redis-benchmark"
#define PRELOAD_HANDOVER "REDIS_BENCH_PRELOAD" /* the allocator, across our re-exec */
#define LIBC_SHIM "redis_libc_malloc.so"      /* built next to this program */
#define LOOPBACK "127.0.0.1"
#define READY_TIMEOUT_S 20.0 /* a server not answering PING by then has failed */
#define READY_RETRY_S 0.005
#define STOP_GRACE_S 10.0    /* after SIGTERM; then SIGKILL */
#define WATCH_INTERVAL_MS 20 /* how often the server is checked while the client runs */
#define MAX_CLIENT_OUTPUT (1 << 20)
#define MAX_ARGS 256
#define RESULT_MARK "requests per second"
#define SIGNAL_EXIT_BASE 128

static volatile sig_atomic_t stop_signal; /* the signal that asked us to stop, or 0 */
static pid_t server_pid, client_pid;

static void on_stop_signal(int sig) { stop_signal = sig; }

static void catch_stop_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal; /* no SA_RESTART: blocking calls return EINTR */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/* Kill and reap the server (it may already be gone). Returns its wait status,
 * or -1 when it was not running. */
static int stop_server(int sig)
{
    if (server_pid <= 0)
        return -1;
    int status = 0;
    kill(server_pid, sig);
    double deadline = clock_now_seconds() + STOP_GRACE_S;
    for (;;) {
        pid_t r = waitpid(server_pid, &status, WNOHANG);
        if (r == server_pid || (r < 0 && errno != EINTR))
            break;
        if (clock_now_seconds() > deadline) {
            kill(server_pid, SIGKILL);
            waitpid(server_pid, &status, 0);
            break;
        }
        clock_sleep_seconds(READY_RETRY_S);
    }
    server_pid = 0;
    return status;
}

/* Every way out after the server started goes through here. */
static _Noreturn void finish(int status, const char *format, ...)
    __attribute__((format(printf, 2, 3)));
static _Noreturn void finish(int status, const char *format, ...)
{
    if (format) {
        va_list args;
        va_start(args, format);
        fprintf(stderr, "%s: ", cli_program());
        vfprintf(stderr, format, args);
        fputc('\n', stderr);
        va_end(args);
    }
    if (client_pid > 0)
        kill(client_pid, SIGKILL); /* never reaped: see the header */
    stop_server(SIGKILL);
    exit(status);
}

static void check_stop_signal(void)
{
    if (stop_signal)
        finish(SIGNAL_EXIT_BASE + stop_signal, "stopped by signal %d; server stopped",
               (int)stop_signal);
}

/* A loopback port nobody is bound to right now. */
static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = 0};
    socklen_t len = sizeof addr;
    inet_pton(AF_INET, LOOPBACK, &addr.sin_addr);
    if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0 ||
        getsockname(fd, (struct sockaddr *)&addr, &len) != 0)
        cli_fail(EXIT_CHECK_FAILED, "cannot find a free port on %s: %s", LOOPBACK,
                 strerror(errno));
    close(fd);
    return ntohs(addr.sin_port);
}

/* In a child: die with us, whatever kills us. */
static void die_with_parent(pid_t parent)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) /* we died before prctl took effect */
        _exit(EXIT_CHECK_FAILED);
}

static pid_t start(char *const argv[], const char *preload, int stdout_fd)
{
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0)
        finish(EXIT_CHECK_FAILED, "fork: %s", strerror(errno));
    if (pid == 0) {
        die_with_parent(parent);
        signal(SIGPIPE, SIG_DFL);
        if (preload && preload[0])
            setenv("LD_PRELOAD", preload, 1);
        if (stdout_fd >= 0)
            dup2(stdout_fd, STDOUT_FILENO);
        execv(argv[0], argv);
        fprintf(stderr, "%s: cannot run %s: %s\n", cli_program(), argv[0], strerror(errno));
        _exit(EXIT_CHECK_FAILED);
    }
    return pid;
}

/* Fail when the server has exited (it must run until we stop it). */
static void check_server_alive(void)
{
    int status;
    if (waitpid(server_pid, &status, WNOHANG) == server_pid) {
        server_pid = 0;
        if (WIFSIGNALED(status))
            finish(EXIT_CHECK_FAILED, "the server was killed by signal %d", WTERMSIG(status));
        finish(EXIT_CHECK_FAILED, "the server exited early with status %d",
               WEXITSTATUS(status));
    }
}

/* True once the server answers PING on the port. */
static bool server_answers(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, LOOPBACK, &addr.sin_addr);
    bool ok = false;
    if (fd >= 0 && connect(fd, (struct sockaddr *)&addr, sizeof addr) == 0) {
        static const char ping[] = "PING\r\n";
        char reply[16] = {0};
        if (write(fd, ping, sizeof ping - 1) == (ssize_t)(sizeof ping - 1) &&
            read(fd, reply, sizeof reply - 1) > 0)
            ok = strncmp(reply, "+PONG", 5) == 0;
    }
    if (fd >= 0)
        close(fd);
    return ok;
}

static void wait_until_ready(int port)
{
    double deadline = clock_now_seconds() + READY_TIMEOUT_S;
    while (!server_answers(port)) {
        check_stop_signal();
        check_server_alive();
        if (clock_now_seconds() > deadline)
            finish(EXIT_CHECK_FAILED, "the server did not answer PING within %.0f s",
                   READY_TIMEOUT_S);
        clock_sleep_seconds(READY_RETRY_S);
    }
}

/* Read the client's output until it closes its stdout, watching the server. */
static size_t collect_output(int fd, char *buf, size_t cap)
{
    size_t used = 0;
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int n = poll(&p, 1, WATCH_INTERVAL_MS);
        check_stop_signal();
        check_server_alive();
        if (n <= 0)
            continue;
        char scratch[4096];
        ssize_t got = read(fd, used < cap ? buf + used : scratch,
                           used < cap ? cap - used : sizeof scratch);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return used;
        if (used < cap)
            used += (size_t)got;
    }
}

/* The client's exit status, without reaping it (see the header). */
static int client_status(void)
{
    siginfo_t info;
    for (;;) {
        memset(&info, 0, sizeof info);
        if (waitid(P_PID, (id_t)client_pid, &info, WEXITED | WNOWAIT) == 0)
            break;
        if (errno != EINTR)
            finish(EXIT_CHECK_FAILED, "waiting for the client: %s", strerror(errno));
        check_stop_signal();
        check_server_alive();
    }
    client_pid = 0; /* it has exited: nothing left to kill */
    if (info.si_code == CLD_EXITED)
        return info.si_status;
    finish(EXIT_CHECK_FAILED, "the client was killed by signal %d", info.si_status);
}

/* The last line of the client's output that carries the figure ('\r' too ends a
 * line: redis-benchmark redraws its progress line in place). */
static const char *result_line(char *out)
{
    const char *found = NULL;
    for (char *line = strtok(out, "\r\n"); line; line = strtok(NULL, "\r\n"))
        if (strstr(line, RESULT_MARK) && strstr(line, "rps=") == NULL)
            found = line;
    return found;
}

/* The server's peak resident set (VmHWM) in KiB, or -1. */
static long server_peak_rss_kib(void)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)server_pid);
    FILE *f = fopen(path, "r");
    long kib = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmHWM: %ld", &kib) == 1)
            break;
    if (f)
        fclose(f);
    return kib;
}

static void check_arguments(int argc, char **argv)
{
    if (argc < 2)
        cli_usage_error(usage, "no redis-benchmark arguments given");
    if (argc - 1 > MAX_ARGS)
        cli_usage_error(usage, "too many arguments (at most %d)", MAX_ARGS);
    static const char *const owned[] = {"-h", "-p", "-s", "-u", "--tls", "--help", "--version"};
    for (int i = 1; i < argc; i++)
        for (size_t k = 0; k < sizeof owned / sizeof owned[0]; k++)
            if (strcmp(argv[i], owned[k]) == 0)
                cli_usage_error(usage, "'%s' is not allowed: the wrapper chooses the server",
                                argv[i]);
}

/* The shim that makes "no allocator" mean glibc: next to this program. */
static void libc_shim_path(char *path, size_t cap)
{
    ssize_t n = readlink("/proc/self/exe", path, cap - 1);
    if (n <= 0)
        cli_fail(EXIT_CHECK_FAILED, "cannot find this program's directory");
    path[n] = '\0';
    char *slash = strrchr(path, '/');
    if (slash == NULL || (size_t)(slash - path) + sizeof LIBC_SHIM + 1 > cap)
        cli_fail(EXIT_CHECK_FAILED, "path too long: %s", path);
    strcpy(slash + 1, LIBC_SHIM);
    if (access(path, R_OK) != 0)
        cli_fail(EXIT_CHECK_FAILED, "%s is missing: build it (ninja)", path);
}

int main(int argc, char **argv)
{
    cli_set_program("redis-bench");
    /* Step 1: shed the allocator ourselves, keeping it for the server. */
    if (getenv(PRELOAD_HANDOVER) == NULL) {
        const char *preload = getenv("LD_PRELOAD");
        setenv(PRELOAD_HANDOVER, preload ? preload : "", 1);
        unsetenv("LD_PRELOAD");
        execv("/proc/self/exe", argv);
        cli_fail(EXIT_CHECK_FAILED, "cannot re-execute /proc/self/exe: %s", strerror(errno));
    }
    static char preload[PATH_MAX * 4];
    snprintf(preload, sizeof preload, "%s", getenv(PRELOAD_HANDOVER));
    unsetenv(PRELOAD_HANDOVER);
    check_arguments(argc, argv);
    if (preload[0] == '\0')
        libc_shim_path(preload, PATH_MAX);
    const char *server = getenv("REDIS_SERVER") ? getenv("REDIS_SERVER") : DEFAULT_SERVER;
    const char *client = getenv("REDIS_BENCHMARK") ? getenv("REDIS_BENCHMARK") : DEFAULT_CLIENT;
    catch_stop_signals();

    /* Step 2: the server, on a free loopback port, no persistence. */
    char port[16];
    snprintf(port, sizeof port, "%d", free_port());
    char *server_argv[] = {(char *)server, "--bind", LOOPBACK, "--port", port, "--save", "",
                           "--appendonly", "no", "--daemonize", "no", "--loglevel", "warning",
                           "--protected-mode", "yes", NULL};
    fprintf(stderr, "%s: %s on %s:%s, LD_PRELOAD=%s\n", cli_program(), server, LOOPBACK, port,
            preload);
    server_pid = start(server_argv, preload, STDERR_FILENO); /* its log goes to our stderr */
    wait_until_ready(atoi(port));

    /* Step 3: the client, on glibc, its stdout to us. */
    char *client_argv[MAX_ARGS + 6] = {(char *)client, "-h", LOOPBACK, "-p", port};
    for (int i = 1; i < argc; i++)
        client_argv[4 + i] = argv[i];
    client_argv[4 + argc] = NULL;
    int pipe_fds[2];
    if (pipe(pipe_fds) != 0)
        finish(EXIT_CHECK_FAILED, "pipe: %s", strerror(errno));
    client_pid = start(client_argv, NULL, pipe_fds[1]);
    close(pipe_fds[1]);
    static char out[MAX_CLIENT_OUTPUT + 1];
    size_t used = collect_output(pipe_fds[0], out, MAX_CLIENT_OUTPUT);
    out[used] = '\0';
    close(pipe_fds[0]);
    int client_exit = client_status();
    if (client_exit != 0)
        finish(EXIT_CHECK_FAILED, "the client (%s) failed with exit status %d", client,
               client_exit);
    const char *line = result_line(out);
    if (line == NULL)
        finish(EXIT_CHECK_FAILED, "the client printed no line with '%s'", RESULT_MARK);
    check_server_alive();
    long peak_kib = server_peak_rss_kib();

    /* Step 4: stop the server; it must exit cleanly (a crash at exit is a failure). */
    int status = stop_server(SIGTERM);
    if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0))
        finish(EXIT_CHECK_FAILED, "the server did not exit cleanly after SIGTERM (wait status %#x)",
               (unsigned)status);
    printf("%s\nserver peak RSS: %ld KiB\n", line, peak_kib);
    return 0;
}
