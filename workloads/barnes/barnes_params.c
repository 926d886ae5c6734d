/* barnes_params.c: the twelve-line parameter file of SPLASH-2 barnes.
 *
 * One value a line, in this order: infile, nbody, seed, outfile, dtime, eps,
 * tol, fcells, fleaves, tstop, dtout, NPROC. A blank (or missing) line takes
 * the default, as the original's getparam does. Every value is checked: a bad
 * one gives a message naming the parameter and exit 2.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/cli.h"
#include "barnes.h"

#define LINE_BYTES 256
#define MAX_BODIES 10000000l  /* keeps the pools within a machine's memory */
#define MAX_STEPS 100000.0    /* tstop / dtime */

enum { P_INFILE, P_NBODY, P_SEED, P_OUTFILE, P_DTIME, P_EPS, P_TOL, P_FCELLS, P_FLEAVES,
       P_TSTOP, P_DTOUT, P_NPROC, PARAMETER_COUNT };

static const char *const names[PARAMETER_COUNT] = {
    "infile", "nbody", "seed", "outfile", "dtime", "eps", "tol", "fcells", "fleaves",
    "tstop", "dtout", "NPROC"};

/* The defaults of the original (its defv table). */
_Static_assert(PARAMETER_COUNT == PARAMETER_LINES, "one name per parameter line");

static void set_defaults(parameters *p)
{
    memset(p, 0, sizeof *p);
    p->infile[0] = '\0';
    p->nbody = 16384;
    p->seed = 123;
    p->outfile[0] = '\0';
    p->dtime = 0.025;
    p->eps = 0.05;
    p->tol = 1.0;
    p->fcells = 2.0;
    p->fleaves = 0.5;
    p->tstop = 0.075;
    p->dtout = 0.25;
    p->nproc = 1;
}

static double parse_real(const char *text, int which)
{
    char *end = NULL;
    errno = 0;
    double value = strtod(text, &end);
    if (end == text || *end != '\0' || errno == ERANGE || !isfinite(value))
        cli_fail(EXIT_BAD_ARGUMENT, "parameter %d (%s) must be a number, got '%s'", which + 1,
                 names[which], text);
    return value;
}

static void require_positive(double value, int which, const char *text)
{
    if (!(value > 0))
        cli_fail(EXIT_BAD_ARGUMENT, "parameter %d (%s) must be more than 0, got '%s'",
                 which + 1, names[which], text);
}

static void set_parameter(parameters *p, int which, const char *text)
{
    char what[64];
    snprintf(what, sizeof what, "parameter %d (%s)", which + 1, names[which]);
    switch (which) {
    case P_INFILE:
        cli_fail(EXIT_BAD_ARGUMENT,
                 "parameter 1 (infile) must be blank: reading bodies from a file is not "
                 "supported, the bodies are generated (Plummer model), got '%s'", text);
    case P_OUTFILE:  /* disabled in the SPLASH-2 release too: accepted, never written */
        snprintf(p->outfile, sizeof p->outfile, "%s", text);
        break;
    case P_NBODY:
        p->nbody = cli_parse_integer(text, what, 2, MAX_BODIES);
        break;
    case P_SEED:
        p->seed = cli_parse_integer(text, what, 0, 0x7fffffffl);
        break;
    case P_NPROC:
        p->nproc = cli_parse_integer(text, what, 1, 1);
        break;
    default: {
        double value = parse_real(text, which);
        require_positive(value, which, text);
        double *slot[PARAMETER_COUNT] = {
            [P_DTIME] = &p->dtime, [P_EPS] = &p->eps, [P_TOL] = &p->tol,
            [P_FCELLS] = &p->fcells, [P_FLEAVES] = &p->fleaves, [P_TSTOP] = &p->tstop,
            [P_DTOUT] = &p->dtout};
        *slot[which] = value;
    }
    }
}

/* The line without its newline and surrounding blanks. */
static char *trimmed(char *line)
{
    while (*line == ' ' || *line == '\t')
        line++;
    size_t n = strlen(line);
    while (n > 0 && strchr(" \t\r\n", line[n - 1]))
        line[--n] = '\0';
    return line;
}

void read_parameters(const char *path, parameters *p)
{
    set_defaults(p);
    FILE *in = stdin;
    if (path != NULL && strcmp(path, "-") != 0) {
        in = fopen(path, "r");
        if (in == NULL)
            cli_fail(EXIT_BAD_ARGUMENT, "cannot open the input file '%s': %s", path,
                     strerror(errno));
    }
    char buffer[LINE_BYTES];
    int which = 0;
    while (fgets(buffer, sizeof buffer, in) != NULL) {
        if (strchr(buffer, '\n') == NULL && !feof(in))
            cli_fail(EXIT_BAD_ARGUMENT, "line %d of the input is longer than %d characters",
                     which + 1, LINE_BYTES - 2);
        char *text = trimmed(buffer);
        if (which >= PARAMETER_COUNT) {
            if (*text != '\0')
                cli_fail(EXIT_BAD_ARGUMENT, "the input has more than %d parameter lines: '%s'",
                         PARAMETER_COUNT, text);
            continue;
        }
        if (*text != '\0') {
            /* Each given value is kept as a string of its own, never freed, as the
             * original's getparam keeps them (its only small allocations). */
            char *kept = strdup(text);
            if (kept == NULL)
                cli_fail(EXIT_CHECK_FAILED, "out of memory reading the parameters");
            p->given[which] = kept;
            set_parameter(p, which, kept);
        }
        which++;
    }
    if (in != stdin)
        fclose(in);
    if (p->tstop / p->dtime > MAX_STEPS)
        cli_fail(EXIT_BAD_ARGUMENT, "tstop / dtime must be at most %g steps, got %g / %g",
                 MAX_STEPS, p->tstop, p->dtime);
    if (p->fleaves * (double)p->nbody < 1 || p->fleaves > 100 || p->fcells > 100)
        cli_fail(EXIT_BAD_ARGUMENT, "fleaves and fcells must be at most 100 and give at least "
                 "one leaf, got fleaves %g, fcells %g", p->fleaves, p->fcells);
}
