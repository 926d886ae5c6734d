/* cfrac_main.c: the cfrac command: parse N, deal with the inputs the
 * continued-fraction method cannot split, run it, check and print the split.
 *
 *   cfrac [-a aborts] [-k maxk] [-i maxIter] [-v] N
 *
 * Prints "N = f * N/f" (smaller factor first) and exits 0. A prime N, a bad
 * argument or a failed check gives a message on stderr and a non-zero exit.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/cli.h"
#include "bignum.h"
#include "bignum_math.h"
#include "cfrac.h"

static const char usage[] = "[-a aborts] [-k maxk] [-i maxIter] [-v] N";

#define DEFAULT_ABORTS 3
#define DEFAULT_MAX_MULTIPLIER 100
#define MAX_MULTIPLIER 1000

/* Beyond ~50 digits the method needs hours; 100 digits is a safe ceiling that
 * still leaves primality checks and the easy cases usable. */
#define MAX_INPUT_DIGITS 100

/* Below this, trial division up to sqrt(N) (at most 10^6 divisions) is the
 * sensible method and the continued fraction's factor base would be tiny. */
#define TRIAL_DIVISION_LIMIT 1000000000000ull

/* ---- the easy cases --------------------------------------------------------- */

static bignum *smallest_factor_by_trial_division(uint64_t n)
{
    for (uint64_t d = 2; d * d <= n; d += (d == 2 ? 1 : 2))
        if (n % d == 0)
            return bn_from_u64(d);
    return NULL;
}

/* N = r^e for some e >= 2: r is a factor (the congruence of squares cannot
 * split a prime power, and this finds the others as well). */
static bignum *perfect_power_root(const bignum *n)
{
    unsigned bits = bn_bit_length(n);
    for (unsigned e = 2; e <= bits; e++) {
        bignum *root = bn_root(n, e);
        bignum *power = bn_pow(root, e);
        bool exact = bn_compare(power, n) == 0 && bn_compare_u64(root, 1) > 0;
        bn_release(power);
        if (exact)
            return root;
        bn_release(root);
    }
    return NULL;
}

/* A factor found without the continued fraction, or NULL. *prime is set when N
 * has no proper factor at all. */
static bignum *easy_factor(const bignum *n, bool *prime)
{
    *prime = false;
    if (bn_compare_u64(n, TRIAL_DIVISION_LIMIT) < 0) {
        bignum *factor = smallest_factor_by_trial_division(bn_to_u64(n));
        *prime = factor == NULL;
        return factor;
    }
    if (bn_is_probable_prime(n)) {
        *prime = true;
        return NULL;
    }
    /* N = 2m with m odd: mod 2 the two square roots +y and -y coincide, so
     * x^2 = y^2 (mod N) forces x = +-y and gcd(x - y, N) is always trivial. */
    if (bn_mod_small(n, 4) == 2)
        return bn_from_u64(2);
    return perfect_power_root(n);
}

/* ---- output ------------------------------------------------------------------ */

static void print_stats(const cfrac_stats *s)
{
    fprintf(stderr,
            "iterations: %" PRIu64 "\n"
            "early aborts: %" PRIu64 "\n"
            "partials: %" PRIu64 " (%" PRIu64 " paired into relations)\n"
            "full solutions: %" PRIu64 "\n"
            "factor attempts: %" PRIu64 "\n"
            "multipliers tried: %u\n",
            s->iterations, s->early_aborts, s->partials, s->partial_pairs, s->full_relations,
            s->factor_attempts, s->multipliers_tried);
}

/* Check f * (N / f) == N with 1 < f < N, then print "N = small * large". */
static void check_and_print(const bignum *n, const bignum *factor)
{
    bignum *cofactor, *remainder;
    bn_divmod(n, factor, &cofactor, &remainder);
    bignum *product = bn_mul(factor, cofactor);
    bool valid = bn_is_zero(remainder) && bn_compare(product, n) == 0 &&
                 bn_compare_u64(factor, 1) > 0 && bn_compare_u64(cofactor, 1) > 0;
    char *n_text = bn_to_decimal(n), *f_text = bn_to_decimal(factor);
    char *c_text = bn_to_decimal(cofactor);
    if (!valid)
        cli_fail(EXIT_CHECK_FAILED, "check failed: %s is not a proper factor of %s", f_text,
                 n_text);
    bool factor_first = bn_compare(factor, cofactor) <= 0;
    printf("%s = %s * %s\n", n_text, factor_first ? f_text : c_text,
           factor_first ? c_text : f_text);
    free(n_text);
    free(f_text);
    free(c_text);
    bn_release(cofactor);
    bn_release(remainder);
    bn_release(product);
}

/* ---- main ---------------------------------------------------------------------- */

static bignum *parse_n(const char *text)
{
    size_t digits = strlen(text);
    if (digits == 0 || strspn(text, "0123456789") != digits)
        cli_usage_error(usage, "N must be a positive whole number in decimal, got '%s'", text);
    while (digits > 1 && *text == '0') {
        text++;
        digits--;
    }
    if (digits > MAX_INPUT_DIGITS)
        cli_usage_error(usage, "N has %zu digits; at most %d are accepted", digits,
                        MAX_INPUT_DIGITS);
    bignum *n = bn_from_decimal(text);
    if (bn_compare_u64(n, 2) < 0)
        cli_usage_error(usage, "N must be at least 2, got %s", text);
    return n;
}

int main(int argc, char **argv)
{
    cli_set_program("cfrac");
    cfrac_options options = {DEFAULT_ABORTS, DEFAULT_MAX_MULTIPLIER, 0, false};
    int opt;
    opterr = 0; /* our own messages; the leading ':' in the option string tells a
                   missing value (':') from an unknown option ('?') */
    while ((opt = getopt(argc, argv, "+:a:k:i:v")) != -1) {
        switch (opt) {
        case 'a':
            options.aborts =
                (unsigned)cli_parse_integer(optarg, "-a aborts", 0, CFRAC_MAX_ABORTS);
            break;
        case 'k':
            options.max_multiplier =
                (unsigned)cli_parse_integer(optarg, "-k maxk", 1, MAX_MULTIPLIER);
            break;
        case 'i':
            options.max_iterations =
                (uint64_t)cli_parse_integer(optarg, "-i maxIter", 0, INT64_MAX);
            break;
        case 'v':
            options.verbose = true;
            break;
        case ':':
            cli_usage_error(usage, "option -%c needs a value", optopt);
        default:
            cli_usage_error(usage, "unknown option -%c", optopt);
        }
    }
    if (argc - optind != 1)
        cli_usage_error(usage, "expected one number N, got %d arguments", argc - optind);
    bignum *n = parse_n(argv[optind]);

    bool prime;
    bignum *factor = easy_factor(n, &prime);
    if (prime) {
        char *text = bn_to_decimal(n);
        cli_fail(EXIT_BAD_ARGUMENT, "%s is prime: it has no non-trivial factorisation", text);
    }
    cfrac_stats stats = {0};
    if (factor == NULL) {
        factor = cfrac_find_factor(n, &options, &stats);
        if (options.verbose)
            print_stats(&stats);
        if (factor == NULL)
            cli_fail(EXIT_CHECK_FAILED, "no factor found after %" PRIu64 " iterations",
                     stats.iterations);
    }
    check_and_print(n, factor);
    bn_release(factor);
    bn_release(n);
    return 0;
}
