/* barnes.h: the Barnes-Hut N-body simulation in the style of SPLASH-2 barnes.
 *
 * Bodies live in one array; the octree is rebuilt every step from two pools,
 * cells and leaves, allocated once at start-up and reused (a step only resets
 * their counters). So the program allocates a handful of big blocks and then
 * nothing at all, as the original does: what it measures of an allocator is
 * how those big blocks are placed and paged in, not malloc's speed.
 */
#ifndef WORKLOADS_BARNES_H
#define WORKLOADS_BARNES_H

#include <stdbool.h>
#include <stdint.h>

#define NDIM 3
#define NSUB 8                  /* children of a cell: 2^NDIM */
#define MAX_BODIES_PER_LEAF 10  /* as SPLASH-2: a full leaf is split into a cell */

typedef double vector[NDIM];
typedef double matrix[NDIM][NDIM];

enum node_type { NODE_BODY = 1, NODE_CELL, NODE_LEAF };

/* The fields every node starts with, so a child pointer can be either kind. */
typedef struct node {
    int type;
    int level;           /* depth below the root */
    double mass;
    vector pos;          /* a body's position, a cell's centre of mass */
    int cost;            /* interactions (bodies) or their sum (cells) */
    int child_num;       /* which child of the parent */
    struct node *parent;
} node;

typedef struct body {
    node n;
    vector vel;
    vector acc;
    double phi;          /* potential at the body */
} body;

typedef struct cell {
    node n;
    vector centre;       /* geometric centre of the cube */
    double half_side;
    matrix quad;         /* quadrupole moment about the centre of mass */
    node *subp[NSUB];
} cell;

typedef struct leaf {
    node n;
    vector centre;
    double half_side;
    matrix quad;
    int num_bodies;
    body *bodyp[MAX_BODIES_PER_LEAF];
} leaf;

/* The twelve parameters of the input file, in its order. */
#define PARAMETER_LINES 12
typedef struct parameters {
    char infile[256];    /* must be empty: we generate a Plummer model */
    long nbody;
    long seed;
    char outfile[256];   /* accepted and ignored, as in the SPLASH-2 release */
    double dtime;        /* integration time step */
    double eps;          /* potential softening */
    double tol;          /* opening criterion: open a cell when side/distance > tol */
    double fcells;       /* cells in the pool = fcells x leaves */
    double fleaves;      /* leaves in the pool = fleaves x nbody */
    double tstop;
    double dtout;        /* diagnostics every dtout */
    long nproc;          /* must be 1: this is the uniprocessor version */
    const char *given[PARAMETER_LINES];  /* each line's text (NULL: the default) */
} parameters;

/* Read the parameter lines from `path` ("-" or NULL: standard input); a blank
 * line takes the default. Exits 2 with a message on a bad value. */
void read_parameters(const char *path, parameters *p);

/* The space the simulation works in: the pools and the current tree. */
typedef struct space {
    body *bodies;
    long nbody;
    body **order;        /* bodies in tree order, rebuilt each step (the partition) */
    cell *cells;
    long max_cells, used_cells;
    leaf *leaves;
    long max_leaves, used_leaves;  /* used over the whole run, as the original */
    long step_first_leaf;          /* where this step's leaves start */
    cell *root;
    vector rmin;         /* corner and side of the root cube */
    double rsize;
    double eps_sq, tol_sq;
} space;

/* Allocate the pools for nbody bodies (exits 1 when memory is short). */
void space_allocate(space *s, const parameters *p);

/* Build the octree over the bodies from the bounding cube rmin/rsize, compute
 * every cell's mass, centre of mass and quadrupole, and list the bodies in
 * tree order. Exits 1 when a pool is too small (naming the parameter). */
void space_build_tree(space *s);

/* Accelerations and potentials of all bodies by walking the tree; returns the
 * number of body-body and body-cell interactions. */
uint64_t space_compute_forces(space *s, uint64_t *cell_interactions);

#endif
