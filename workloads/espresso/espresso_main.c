/* espresso_main.c: the espresso command.
 *
 *   espresso [-n runs] [-s] file.pla       minimise; the result goes to stdout
 *   espresso -D verify a.pla b.pla         are the two PLAs equivalent?
 *
 * The benchmark build of the original (mimalloc-bench) minimises its input 20
 * times in one process, reading the file afresh each time and freeing
 * everything after; -n keeps that (default 20). Every run checks its result
 * as the original does (espresso's verify: each cover inside the other plus
 * the don't-cares) and that it has no more cubes than the input; the last run
 * also checks it minterm by minterm (inputs <= 20) and prints it.
 * A failed check: a message and exit 1. A bad argument or file: exit 2.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/cli.h"
#include "espresso.h"

static const char usage[] = "[-n runs] [-s] file.pla | -D verify a.pla b.pla";

#define DEFAULT_RUNS 20   /* the original benchmark's repeat count */
#define MAX_RUNS 100000
#define WHY_BYTES 256

static void exhaustive_or_fail(const cover *on, const cover *dc, const cover *f,
                               const char *what)
{
    char why[WHY_BYTES];
    if (shape.inputs <= EXHAUSTIVE_MAX_INPUTS && !exhaustive_check(on, dc, f, why, sizeof why))
        cli_fail(EXIT_CHECK_FAILED, "%s: %s", what, why);
}

static int minimize_file(const char *path, long runs, bool summary)
{
    for (long run = 1; run <= runs; run++) {
        pla p;
        pla_read(path, &p);
        cover *original = cover_copy(p.on);
        minimize_stats stats;
        p.on = espresso_minimize(p.on, p.dc, &stats);
        if (!covers_equivalent(p.on, original, p.dc))
            cli_fail(EXIT_CHECK_FAILED, "cover verification failed: the result is not "
                     "equivalent to the input (run %ld)", run);
        if (p.on->count > original->count)
            cli_fail(EXIT_CHECK_FAILED, "the result has %d cubes, more than the input's %d",
                     p.on->count, original->count);
        if (run == runs) {
            exhaustive_or_fail(original, p.dc, p.on, "the result differs from the input");
            if (summary)
                fprintf(stderr, "# %s: %d inputs, %d outputs, %d ON cubes, %d don't-care cubes, "
                        "OFF-set %ld cubes; %d iterations; result %d cubes; %ld runs\n", path,
                        shape.inputs, shape.outputs, stats.initial_cubes, p.dc->count,
                        stats.complement_cubes, stats.iterations, stats.final_cubes, runs);
            pla_write(stdout, &p, p.on);
        }
        cover_free(original);
        pla_release(&p);
    }
    return 0;
}

static int verify_files(const char *a_path, const char *b_path)
{
    pla a, b;
    pla_read(a_path, &a);
    pla_read(b_path, &b);
    bool equal = covers_equivalent(a.on, b.on, a.dc);
    char why[WHY_BYTES] = "";
    if (equal && shape.inputs <= EXHAUSTIVE_MAX_INPUTS)
        equal = exhaustive_check(a.on, a.dc, b.on, why, sizeof why);
    if (equal)
        printf("PLA's compared equal\n");
    else
        printf("PLA comparison failed; the PLA's are not equivalent%s%s\n", *why ? ": " : "",
               why);
    pla_release(&a);
    pla_release(&b);
    shape_release();
    return equal ? 0 : EXIT_CHECK_FAILED;
}

int main(int argc, char **argv)
{
    cli_set_program("espresso");
    long runs = DEFAULT_RUNS;
    bool summary = false, verify = false;
    int option;
    opterr = 0;
    while ((option = getopt(argc, argv, ":n:sD:")) != -1) {
        switch (option) {
        case 'n':
            runs = cli_parse_integer(optarg, "-n (runs)", 1, MAX_RUNS);
            break;
        case 's':
            summary = true;
            break;
        case 'D':
            if (strcmp(optarg, "verify") != 0)
                cli_usage_error(usage, "the only subcommand is -D verify, got -D %s", optarg);
            verify = true;
            break;
        case ':':
            cli_usage_error(usage, "option -%c needs a value", optopt);
        default:
            cli_usage_error(usage, "unknown option -%c", optopt);
        }
    }
    int files = argc - optind;
    if (verify) {
        if (files != 2)
            cli_usage_error(usage, "-D verify takes two PLA files, got %d", files);
        return verify_files(argv[optind], argv[optind + 1]);
    }
    if (files != 1)
        cli_usage_error(usage, "expected one PLA file, got %d", files);
    int status = minimize_file(argv[optind], runs, summary);
    shape_release();
    return status;
}
