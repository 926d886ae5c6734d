/* barnes: a Barnes-Hut N-body simulation in the style of SPLASH-2 barnes
 * (Woo et al., "The SPLASH-2 Programs", ISCA 1995; the method is Barnes and
 * Hut, "A hierarchical O(N log N) force-calculation algorithm", Nature 1986).
 *
 *   barnes [input]        (standard: barnes < input, or barnes input)
 *
 * The input is the original's twelve parameter lines (barnes_params.c). Two
 * Plummer-model clusters of nbody/2 bodies each are generated from the seed;
 * every step rebuilds the octree, computes the forces by walking it, and
 * advances the bodies by velocity Verlet (the original's leapfrog with its
 * second-order velocity correction). Diagnostics (total, kinetic and potential
 * energy) are printed at the first step, every dtout, and at the last step.
 *
 * Self-check: the total energy of the last step must be within
 * ENERGY_DRIFT_TOLERANCE (relative) of the first; otherwise a message and exit
 * 1. Allocation: a few big blocks at start-up, nothing afterwards.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/cli.h"
#include "../common/rng.h"
#include "barnes.h"

static const char usage[] = "[input]   (the parameter file; standard input when absent or -)";

/* With the standard parameters (tol 1.0 and quadrupoles, dtime 0.025) the total
 * energy moves by a few 1e-4 relative over the run; a time step or opening
 * tolerance that wrecks the integration moves it by far more. */
#define ENERGY_DRIFT_TOLERANCE 0.01

#define MASS_FRACTION 0.999      /* the Plummer model is cut off at this mass */
#define MAX_RADIUS 9.0           /* and radii beyond this are drawn again */
#define CLUSTER_OFFSET 4.0       /* the second cluster is the first, shifted */
#define VELOCITY_Y_MAX 0.1       /* von Neumann rejection bound for the speed */
#define BOUND_MARGIN 1e-5        /* the root cube reaches this fraction past the bodies */
#define BOUND_GROWTH 1.00002

typedef struct diagnostics {
    double total, kinetic, potential;
} diagnostics;

static double uniform(rng_t *r, double lo, double hi)
{
    return lo + (hi - lo) * ((double)(rng_next(r) >> 11) * 0x1.0p-53);
}

/* A random point on the sphere of the given radius. */
static void pick_shell(rng_t *r, vector v, double radius)
{
    double rsq;
    do {
        for (int k = 0; k < NDIM; k++)
            v[k] = uniform(r, -1.0, 1.0);
        rsq = v[0] * v[0] + v[1] * v[1] + v[2] * v[2];
    } while (rsq > 1.0 || rsq == 0.0);
    double scale = radius / sqrt(rsq);
    for (int k = 0; k < NDIM; k++)
        v[k] *= scale;
}

/* Plummer model initial conditions in units M = -4E = G = 1 (Aarseth, Henon and
 * Wielen 1974), as the original's testdata: the first half of the bodies is
 * one cluster, the second half its copy shifted by CLUSTER_OFFSET. */
static void plummer_model(space *s, long seed)
{
    rng_t r = rng_seeded((uint64_t)seed, 0);
    double rsc = 9 * M_PI / 16;
    double vsc = sqrt(1.0 / rsc);
    long half = (s->nbody + 1) / 2;
    vector cmr = {0, 0, 0}, cmv = {0, 0, 0};
    for (long i = 0; i < s->nbody; i++) {
        body *b = &s->bodies[i];
        memset(b, 0, sizeof *b);
        b->n.type = NODE_BODY;
        b->n.mass = 1.0 / (double)s->nbody;
        b->n.cost = 1;
        if (i < half) {
            double radius;
            do
                radius = 1 / sqrt(pow(uniform(&r, 0.0, MASS_FRACTION), -2.0 / 3.0) - 1);
            while (radius > MAX_RADIUS);
            pick_shell(&r, b->n.pos, rsc * radius);
            double x, y;
            do {
                x = uniform(&r, 0.0, 1.0);
                y = uniform(&r, 0.0, VELOCITY_Y_MAX);
            } while (y > x * x * pow(1 - x * x, 3.5));
            pick_shell(&r, b->vel, vsc * sqrt(2.0) * x / pow(1 + radius * radius, 0.25));
        } else {
            const body *twin = &s->bodies[i - half];
            for (int k = 0; k < NDIM; k++) {
                b->n.pos[k] = twin->n.pos[k] + CLUSTER_OFFSET;
                b->vel[k] = twin->vel[k];
            }
        }
        for (int k = 0; k < NDIM; k++) {
            cmr[k] += b->n.pos[k];
            cmv[k] += b->vel[k];
        }
    }
    for (long i = 0; i < s->nbody; i++)
        for (int k = 0; k < NDIM; k++) {
            s->bodies[i].n.pos[k] -= cmr[k] / (double)s->nbody;
            s->bodies[i].vel[k] -= cmv[k] / (double)s->nbody;
        }
}

/* The root cube for the next tree: the bodies' bounding box, a little larger. */
static void set_bound(space *s)
{
    vector lo = {HUGE_VAL, HUGE_VAL, HUGE_VAL}, hi = {-HUGE_VAL, -HUGE_VAL, -HUGE_VAL};
    for (long i = 0; i < s->nbody; i++)
        for (int k = 0; k < NDIM; k++) {
            double x = s->bodies[i].n.pos[k];
            if (!isfinite(x))
                cli_fail(EXIT_CHECK_FAILED, "body %ld has a position that is not finite: the "
                         "simulation has blown up", i);
            lo[k] = fmin(lo[k], x);
            hi[k] = fmax(hi[k], x);
        }
    double side = 0;
    for (int k = 0; k < NDIM; k++)
        side = fmax(side, hi[k] - lo[k]);
    for (int k = 0; k < NDIM; k++)
        s->rmin[k] = lo[k] - side * BOUND_MARGIN;
    s->rsize = BOUND_GROWTH * side;
}

static diagnostics measure_energy(const space *s)
{
    diagnostics d = {0, 0, 0};
    for (long i = 0; i < s->nbody; i++) {
        const body *b = &s->bodies[i];
        double vsq = b->vel[0] * b->vel[0] + b->vel[1] * b->vel[1] + b->vel[2] * b->vel[2];
        d.kinetic += 0.5 * b->n.mass * vsq;
        d.potential += 0.5 * b->n.mass * b->phi;
    }
    d.total = d.kinetic + d.potential;
    return d;
}

static void print_header(const parameters *p)
{
    printf("\n\t\tHack code: Plummer model\n\n");
    printf("%10s%10s%10s%10s%10s%10s%10s%10s\n", "nbody", "dtime", "eps", "tol", "dtout",
           "tstop", "fcells", "NPROC");
    printf("%10ld%10.5f%10.4f%10.2f%10.3f%10.3f%10.2f%10ld\n\n", p->nbody, p->dtime, p->eps,
           p->tol, p->dtout, p->tstop, p->fcells, p->nproc);
    printf("%6s%10s%14s%14s%14s%12s%12s%8s%8s\n", "step", "time", "Etot", "Ekin", "Epot",
           "n2bterm", "nbcterm", "cells", "leaves");
}

int main(int argc, char **argv)
{
    cli_set_program("barnes");
    if (argc > 2)
        cli_usage_error(usage, "expected at most one argument (the input file), got %d",
                        argc - 1);
    if (argc == 2 && argv[1][0] == '-' && argv[1][1] != '\0')
        cli_usage_error(usage, "unknown option '%s'", argv[1]);
    parameters p;
    read_parameters(argc == 2 ? argv[1] : NULL, &p);

    space s;
    space_allocate(&s, &p);
    plummer_model(&s, p.seed);
    set_bound(&s);
    print_header(&p);

    double dthf = 0.5 * p.dtime;
    double tnow = 0.0, tout = tnow + p.dtout;
    diagnostics first = {0, 0, 0}, last = {0, 0, 0};
    for (long step = 0; tnow < p.tstop + 0.1 * p.dtime; step++) {
        space_build_tree(&s);
        /* The velocity correction of the original, v += (a_new - a_old) dt/2, in
         * two halves: take off the old acceleration's share now, add the new one's
         * after the forces (the first step has no old acceleration). */
        uint64_t cell_terms = 0;
        double correction = step > 0 ? dthf : 0.0;
        for (long i = 0; i < s.nbody; i++)
            for (int k = 0; k < NDIM; k++)
                s.bodies[i].vel[k] -= correction * s.bodies[i].acc[k];
        uint64_t body_terms = space_compute_forces(&s, &cell_terms);
        for (long i = 0; i < s.nbody; i++)
            for (int k = 0; k < NDIM; k++)
                s.bodies[i].vel[k] += correction * s.bodies[i].acc[k];
        last = measure_energy(&s);
        if (step == 0)
            first = last;
        bool final = !(tnow + p.dtime < p.tstop + 0.1 * p.dtime);
        if (step == 0 || final || tout - 0.01 * p.dtime <= tnow) {
            if (tout - 0.01 * p.dtime <= tnow)
                tout += p.dtout;
            printf("%6ld%10.4f%14.6f%14.6f%14.6f%12.1f%12.1f%8ld%8ld\n", step, tnow, last.total,
                   last.kinetic, last.potential, (double)body_terms / (double)s.nbody,
                   (double)cell_terms / (double)s.nbody, s.used_cells,
                   s.used_leaves - s.step_first_leaf);
        }
        /* advance: half a kick, a drift, the other half (corrected next step) */
        for (long i = 0; i < s.nbody; i++) {
            body *b = &s.bodies[i];
            for (int k = 0; k < NDIM; k++) {
                double vel_half = b->vel[k] + dthf * b->acc[k];
                b->n.pos[k] += vel_half * p.dtime;
                b->vel[k] = vel_half + dthf * b->acc[k];
            }
        }
        set_bound(&s);
        tnow += p.dtime;
    }
    double drift = fabs(last.total - first.total) / fabs(first.total);
    printf("\nenergy drift: %.3e (tolerance %.0e)\n", drift, ENERGY_DRIFT_TOLERANCE);
    if (!(drift <= ENERGY_DRIFT_TOLERANCE))
        cli_fail(EXIT_CHECK_FAILED, "the total energy moved from %.6f to %.6f, a relative "
                 "drift of %.3e beyond the tolerance %.0e", first.total, last.total, drift,
                 ENERGY_DRIFT_TOLERANCE);
    return 0;
}
