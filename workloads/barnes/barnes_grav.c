/* barnes_grav.c: the force on every body from a walk of the octree.
 *
 * A cell (or leaf) far enough away acts as one point mass with its quadrupole:
 * "far enough" is SPLASH-2's test, distance^2 >= side^2 / tol^2, where the side
 * halves at each level. A cell that contains the body is always opened, so a
 * body never feels an approximation of itself; a near leaf is opened into its
 * bodies. The potential is softened: r^2 = |d|^2 + eps^2.
 */
#include <math.h>
#include <stddef.h>

#include "barnes.h"

typedef struct walk {
    const space *s;
    const body *self;
    vector pos;
    vector acc;
    double phi;
    uint64_t body_terms, cell_terms;
} walk;

/* A point mass m at pos, with quadrupole quad (NULL for a body). */
static void gravity_of(walk *w, double m, const vector pos, const matrix *quad)
{
    vector dr;
    for (int k = 0; k < NDIM; k++)
        dr[k] = pos[k] - w->pos[k];
    double drsq = dr[0] * dr[0] + dr[1] * dr[1] + dr[2] * dr[2] + w->s->eps_sq;
    double drabs = sqrt(drsq);
    double phii = m / drabs;
    double mor3 = phii / drsq;
    w->phi -= phii;
    for (int k = 0; k < NDIM; k++)
        w->acc[k] += mor3 * dr[k];
    if (quad == NULL)
        return;
    /* phi_q = -(d.Q.d) / (2 r^5); its force: (-Q d + 5/2 (d.Q.d / r^2) d) / r^5 */
    double dr5inv = 1.0 / (drsq * drsq * drabs);
    vector qdr;
    for (int i = 0; i < NDIM; i++)
        qdr[i] = (*quad)[i][0] * dr[0] + (*quad)[i][1] * dr[1] + (*quad)[i][2] * dr[2];
    double drqdr = dr[0] * qdr[0] + dr[1] * qdr[1] + dr[2] * qdr[2];
    w->phi -= 0.5 * drqdr * dr5inv;
    double radial = 2.5 * drqdr / drsq;
    for (int k = 0; k < NDIM; k++)
        w->acc[k] += (radial * dr[k] - qdr[k]) * dr5inv;
}

static int contains(const vector centre, double half_side, const vector pos)
{
    for (int k = 0; k < NDIM; k++)
        if (pos[k] < centre[k] - half_side || pos[k] >= centre[k] + half_side)
            return 0;
    return 1;
}

static void walk_node(walk *w, const node *n, double open_dsq)
{
    vector dr;
    for (int k = 0; k < NDIM; k++)
        dr[k] = n->pos[k] - w->pos[k];
    double drsq = dr[0] * dr[0] + dr[1] * dr[1] + dr[2] * dr[2];
    if (n->type == NODE_LEAF) {
        const leaf *l = (const leaf *)n;
        if (drsq >= open_dsq && !contains(l->centre, l->half_side, w->pos)) {
            gravity_of(w, n->mass, n->pos, &l->quad);
            w->cell_terms++;
            return;
        }
        for (int k = 0; k < l->num_bodies; k++) {
            const body *b = l->bodyp[k];
            if (b == w->self)
                continue;
            gravity_of(w, b->n.mass, b->n.pos, NULL);
            w->body_terms++;
        }
        return;
    }
    const cell *c = (const cell *)n;
    if (drsq >= open_dsq && !contains(c->centre, c->half_side, w->pos)) {
        gravity_of(w, n->mass, n->pos, &c->quad);
        w->cell_terms++;
        return;
    }
    for (int i = 0; i < NSUB; i++)
        if (c->subp[i] != NULL)
            walk_node(w, c->subp[i], open_dsq / 4);
}

uint64_t space_compute_forces(space *s, uint64_t *cell_interactions)
{
    uint64_t body_terms = 0, cell_terms = 0;
    double root_dsq = s->rsize * s->rsize / s->tol_sq;
    for (long i = 0; i < s->nbody; i++) {
        body *b = s->order[i];
        walk w = {.s = s, .self = b, .acc = {0, 0, 0}, .phi = 0};
        for (int k = 0; k < NDIM; k++)
            w.pos[k] = b->n.pos[k];
        walk_node(&w, &s->root->n, root_dsq);
        for (int k = 0; k < NDIM; k++)
            b->acc[k] = w.acc[k];
        b->phi = w.phi;
        b->n.cost = (int)(w.body_terms + w.cell_terms);
        body_terms += w.body_terms;
        cell_terms += w.cell_terms;
    }
    *cell_interactions = cell_terms;
    return body_terms;
}
