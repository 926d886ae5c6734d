/* cli.h: command-line parsing shared by the workloads.
 *
 * Every workload must reject a bad argument with a message that names the argument
 * and a non-zero exit, never a crash or a silently wrapped value. These helpers
 * parse one argument each and exit with EXIT_BAD_ARGUMENT when it is unusable.
 */
#ifndef WORKLOADS_CLI_H
#define WORKLOADS_CLI_H

#include <stdnoreturn.h>

/* Exit statuses shared by every workload (documented in workloads/README.md). */
#define EXIT_CHECK_FAILED 1 /* the workload ran but a self-check failed */
#define EXIT_BAD_ARGUMENT 2 /* the command line was unusable */

/* Name used as the prefix of every message; set once at the start of main. */
void cli_set_program(const char *name);
const char *cli_program(void);

/* Print "program: message" and the usage line (when one was set) to stderr, exit 2. */
noreturn void cli_usage_error(const char *usage, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

/* Print "program: message" to stderr and exit with the given status. */
noreturn void cli_fail(int status, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

/* A whole decimal integer in [min, max]; `what` names the argument in the message. */
long long cli_parse_integer(const char *text, const char *what, long long min,
                            long long max);

/* A decimal number of seconds (fractions allowed) in (0, max]. */
double cli_parse_seconds(const char *text, const char *what, double max);

/* calloc that exits with a clear message instead of returning NULL; for the
 * workloads' own bookkeeping (the allocations being measured are checked where
 * they happen, with a message saying what failed). */
void *cli_checked_calloc(unsigned long count, unsigned long size, const char *what);

#endif
