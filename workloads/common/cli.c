/* cli.c: argument parsing that fails loudly (see cli.h). */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static const char *program_name = "workload";

void cli_set_program(const char *name) { program_name = name; }

const char *cli_program(void) { return program_name; }

static void print_message(const char *format, va_list args)
{
    fprintf(stderr, "%s: ", program_name);
    vfprintf(stderr, format, args);
    fputc('\n', stderr);
}

void cli_usage_error(const char *usage, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    print_message(format, args);
    va_end(args);
    if (usage)
        fprintf(stderr, "usage: %s %s\n", program_name, usage);
    exit(EXIT_BAD_ARGUMENT);
}

void cli_fail(int status, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    print_message(format, args);
    va_end(args);
    exit(status);
}

long long cli_parse_integer(const char *text, const char *what, long long min,
                            long long max)
{
    char *end = NULL;
    errno = 0;
    long long value = strtoll(text, &end, 10);
    if (end == text || *end != '\0')
        cli_fail(EXIT_BAD_ARGUMENT, "%s must be a whole number, got '%s'", what, text);
    if (errno == ERANGE || value < min || value > max)
        cli_fail(EXIT_BAD_ARGUMENT, "%s must be between %lld and %lld, got '%s'", what,
                 min, max, text);
    return value;
}

double cli_parse_seconds(const char *text, const char *what, double max)
{
    char *end = NULL;
    errno = 0;
    double value = strtod(text, &end);
    if (end == text || *end != '\0' || errno == ERANGE || !isfinite(value))
        cli_fail(EXIT_BAD_ARGUMENT, "%s must be a number of seconds, got '%s'", what, text);
    if (value <= 0 || value > max)
        cli_fail(EXIT_BAD_ARGUMENT, "%s must be more than 0 and at most %g, got '%s'", what,
                 max, text);
    return value;
}

void *cli_checked_calloc(unsigned long count, unsigned long size, const char *what)
{
    void *p = calloc(count, size);
    if (p == NULL)
        cli_fail(EXIT_CHECK_FAILED, "out of memory allocating %s", what);
    return p;
}
