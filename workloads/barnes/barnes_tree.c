/* barnes_tree.c: the pools and the octree built from them every step.
 *
 * As in SPLASH-2, the cell and leaf pools are allocated once, sized by the
 * fcells and fleaves parameters: no allocation happens after start-up. A leaf
 * holds up to MAX_BODIES_PER_LEAF bodies; a body arriving at a full leaf turns
 * it into a cell whose children share the bodies.
 *
 * As in the original's one-processor build, each step takes cells from the
 * front of their pool again but leaves from where the last step stopped (its
 * init_root resets the cell counter only): every step's leaves are fresh
 * memory, which is where most of its resident size comes from, and why its
 * input asks for fleaves = 5. The leaf pool running out says so and exits 1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/cli.h"
#include "barnes.h"

/* Past this depth two bodies are (nearly) at one point: the tree cannot
 * separate them and the simulation has blown up. */
#define MAX_LEVEL 60

static void *checked_malloc(size_t count, size_t size, const char *what)
{
    if (size != 0 && count > (size_t)-1 / size)
        cli_fail(EXIT_CHECK_FAILED, "%s: %zu x %zu bytes is too much", what, count, size);
    void *p = malloc(count * size);
    if (p == NULL)
        cli_fail(EXIT_CHECK_FAILED, "out of memory allocating %s (%zu bytes)", what,
                 count * size);
    return p;
}

void space_allocate(space *s, const parameters *p)
{
    memset(s, 0, sizeof *s);
    s->nbody = p->nbody;
    s->bodies = checked_malloc((size_t)p->nbody, sizeof(body), "the bodies");
    s->max_leaves = (long)(p->fleaves * (double)p->nbody);
    s->max_cells = (long)(p->fcells * (double)s->max_leaves);
    if (s->max_cells < 1)
        s->max_cells = 1;
    /* Pages of the pools are touched only as far as a step's tree reaches, so
     * the resident size follows the tree, not these (generous) sizes. */
    s->cells = checked_malloc((size_t)s->max_cells, sizeof(cell), "the cell pool");
    s->leaves = checked_malloc((size_t)s->max_leaves, sizeof(leaf), "the leaf pool");
    s->order = checked_malloc((size_t)p->nbody, sizeof(body *), "the body order");
    s->eps_sq = p->eps * p->eps;
    s->tol_sq = p->tol * p->tol;
}

static void place_child(node *child, vector centre, double *half_side, const vector parent_centre,
                        double parent_half, int index, int level, node *parent)
{
    double h = parent_half / 2;
    for (int k = 0; k < NDIM; k++)
        centre[k] = parent_centre[k] + (((index >> k) & 1) ? h : -h);
    *half_side = h;
    child->level = level;
    child->child_num = index;
    child->parent = parent;
    child->mass = 0;
    child->cost = 0;
}

static cell *new_cell(space *s)
{
    if (s->used_cells >= s->max_cells)
        cli_fail(EXIT_CHECK_FAILED, "the tree needs more than %ld cells: increase fcells",
                 s->max_cells);
    cell *c = &s->cells[s->used_cells++];
    c->n.type = NODE_CELL;
    memset(c->subp, 0, sizeof c->subp);
    return c;
}

static leaf *new_leaf(space *s)
{
    if (s->used_leaves >= s->max_leaves)
        cli_fail(EXIT_CHECK_FAILED, "the tree needs more than %ld leaves: increase fleaves",
                 s->max_leaves);
    leaf *l = &s->leaves[s->used_leaves++];
    l->n.type = NODE_LEAF;
    l->num_bodies = 0;
    return l;
}

static int child_index(const cell *c, const body *b)
{
    int index = 0;
    for (int k = 0; k < NDIM; k++)
        if (b->n.pos[k] >= c->centre[k])
            index |= 1 << k;
    return index;
}

static void insert_body(space *s, cell *c, body *b)
{
    for (;;) {
        int i = child_index(c, b);
        node *child = c->subp[i];
        if (child == NULL) {
            leaf *l = new_leaf(s);
            place_child(&l->n, l->centre, &l->half_side, c->centre, c->half_side, i,
                        c->n.level + 1, &c->n);
            l->bodyp[l->num_bodies++] = b;
            c->subp[i] = &l->n;
            return;
        }
        if (child->type == NODE_LEAF) {
            leaf *l = (leaf *)child;
            if (l->num_bodies < MAX_BODIES_PER_LEAF) {
                l->bodyp[l->num_bodies++] = b;
                return;
            }
            if (child->level >= MAX_LEVEL)
                cli_fail(EXIT_CHECK_FAILED, "more than %d bodies within 2^-%d of the root's "
                         "side: the simulation has blown up", MAX_BODIES_PER_LEAF, MAX_LEVEL);
            /* Split, as the original's SubdivideLeaf: a cell takes the leaf's
             * place, the leaf itself becomes the cell's child holding the first
             * of its bodies, and the others follow it down. */
            cell *split = new_cell(s);
            place_child(&split->n, split->centre, &split->half_side, c->centre, c->half_side,
                        i, c->n.level + 1, &c->n);
            c->subp[i] = &split->n;
            body *moved[MAX_BODIES_PER_LEAF];
            int count = l->num_bodies;
            memcpy(moved, l->bodyp, sizeof moved);
            int first = child_index(split, moved[0]);
            place_child(&l->n, l->centre, &l->half_side, split->centre, split->half_side, first,
                        split->n.level + 1, &split->n);
            split->subp[first] = &l->n;
            l->num_bodies = 1;
            l->bodyp[0] = moved[0];
            for (int k = 1; k < count; k++)
                insert_body(s, split, moved[k]);
            c = split;
            continue;
        }
        c = (cell *)child;
    }
}

/* quad += m (3 d d^T - |d|^2 I): a point mass m at offset d from the centre of mass. */
static void add_point_quad(matrix quad, double m, const vector d)
{
    double dsq = d[0] * d[0] + d[1] * d[1] + d[2] * d[2];
    for (int i = 0; i < NDIM; i++)
        for (int j = 0; j < NDIM; j++)
            quad[i][j] += m * (3 * d[i] * d[j] - (i == j ? dsq : 0));
}

/* Mass, centre of mass and quadrupole of a subtree, bottom-up; appends the
 * bodies to s->order in tree order (the partition of a one-processor run). */
static void centre_of_mass(space *s, node *n, long *ordered)
{
    vector cm = {0, 0, 0};
    double mass = 0;
    int cost = 0;
    if (n->type == NODE_LEAF) {
        leaf *l = (leaf *)n;
        for (int k = 0; k < l->num_bodies; k++) {
            body *b = l->bodyp[k];
            mass += b->n.mass;
            cost += b->n.cost;
            for (int d = 0; d < NDIM; d++)
                cm[d] += b->n.mass * b->n.pos[d];
            b->n.parent = n;
            s->order[(*ordered)++] = b;
        }
        for (int d = 0; d < NDIM; d++)
            cm[d] /= mass;
        memset(l->quad, 0, sizeof l->quad);
        for (int k = 0; k < l->num_bodies; k++) {
            vector off;
            for (int d = 0; d < NDIM; d++)
                off[d] = l->bodyp[k]->n.pos[d] - cm[d];
            add_point_quad(l->quad, l->bodyp[k]->n.mass, off);
        }
    } else {
        cell *c = (cell *)n;
        for (int i = 0; i < NSUB; i++) {
            node *child = c->subp[i];
            if (child == NULL)
                continue;
            centre_of_mass(s, child, ordered);
            mass += child->mass;
            cost += child->cost;
            for (int d = 0; d < NDIM; d++)
                cm[d] += child->mass * child->pos[d];
        }
        for (int d = 0; d < NDIM; d++)
            cm[d] /= mass;
        memset(c->quad, 0, sizeof c->quad);
        for (int i = 0; i < NSUB; i++) {
            node *child = c->subp[i];
            if (child == NULL)
                continue;
            matrix *child_quad = child->type == NODE_LEAF ? &((leaf *)child)->quad
                                                          : &((cell *)child)->quad;
            vector off;
            for (int d = 0; d < NDIM; d++)
                off[d] = child->pos[d] - cm[d];
            for (int a = 0; a < NDIM; a++)
                for (int b = 0; b < NDIM; b++)
                    c->quad[a][b] += (*child_quad)[a][b];
            add_point_quad(c->quad, child->mass, off);
        }
    }
    n->mass = mass;
    n->cost = cost;
    memcpy(n->pos, cm, sizeof cm);
}

void space_build_tree(space *s)
{
    s->used_cells = 0;
    s->step_first_leaf = s->used_leaves;   /* leaves are not reused: see above */
    cell *root = new_cell(s);
    root->n.level = 0;
    root->n.child_num = 0;
    root->n.parent = NULL;
    root->half_side = s->rsize / 2;
    for (int k = 0; k < NDIM; k++)
        root->centre[k] = s->rmin[k] + root->half_side;
    s->root = root;
    for (long i = 0; i < s->nbody; i++)
        insert_body(s, root, &s->bodies[i]);
    long ordered = 0;
    centre_of_mass(s, &root->n, &ordered);
}
