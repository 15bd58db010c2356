/*
 * hrp.c - hierarchical risk parity (Lopez de Prado 2016; METHODS §6).
 *
 *  1. rho from the covariance; d_ij = sqrt((1 - rho_ij)/2).
 *  2. Optionally d~_ij = Euclidean distance between columns i and j of d
 *     (the paper); PyPortfolioOpt passes d itself to the linkage
 *     (METHODS [U]), so both are offered.
 *  3. Single linkage = merging along the minimum spanning tree (Prim,
 *     O(N^2)) in order of edge length (a stable sort).  Clusters are
 *     labelled as scipy's linkage labels them: leaves 0..N-1, merge k gets
 *     N + k, and the smaller label of a merge is its left child.  The
 *     quasi-diagonal order is the pre-order of that tree, left first
 *     (scipy to_tree().pre_order(), the paper's getQuasiDiag).
 *  4. Recursive bisection of the ordered list into halves (the first
 *     half floor(len/2) long): alpha = 1 - V1/(V1 + V2), V the variance
 *     of the half's inverse-variance portfolio; the first half is scaled
 *     by alpha, the second by 1 - alpha.
 */
#include <math.h>
#include <string.h>

#include "alloc_int.h"

/* Variance of the inverse-variance portfolio of items[0..m). */
static double cluster_var(const double *cov, size_t n, const size_t *items, size_t m)
{
    double s = 0.0, v = 0.0;
    for (size_t a = 0; a < m; a++)
        s += 1.0 / cov[items[a] * n + items[a]];
    for (size_t a = 0; a < m; a++) {
        double wa = 1.0 / cov[items[a] * n + items[a]] / s;
        for (size_t b = 0; b < m; b++) {
            double wb = 1.0 / cov[items[b] * n + items[b]] / s;
            v += wa * wb * cov[items[a] * n + items[b]];
        }
    }
    return v;
}

static size_t uf_find(size_t *parent, size_t i)
{
    while (parent[i] != i) {
        parent[i] = parent[parent[i]];
        i = parent[i];
    }
    return i;
}

int cpo_alloc_hrp(double *w, size_t *order, const double *cov, size_t n,
                  cpo_alloc_hrp_dist dist, cpo_alloc_ws *ws, cpo_error *err)
{
    const char *what = "hrp";
    cpo_alloc_ws *own = NULL;
    int rc;
    if ((rc = cpo_alloc_check_cov(what, cov, n, err)))
        return rc;
    for (size_t i = 0; i < n; i++)
        if (!(cov[i * n + i] > 0.0))
            return cpo_error_set(err, CPO_ENUMERIC, NULL, 0, 0,
                                 "%s: asset %zu has variance %g (expected positive variances)",
                                 what, i, cov[i * n + i]);
    if (dist != CPO_HRP_D && dist != CPO_HRP_D_EUCLID)
        return cpo_error_set(err, CPO_EINVAL, NULL, 0, 0,
                             "%s: unknown distance %d (expected d or d~)", what, (int)dist);
    if ((rc = cpo_ws_use(&ws, &own, n, 0, err)))
        return rc;
    double *d = cpo_ws_buf(ws, WS_HRP_D, n * n, err), *e = cpo_ws_buf(ws, WS_HRP_E, n * n, err);
    double *best = cpo_ws_buf(ws, WS_HRP_V, n, err), *ew = cpo_ws_buf(ws, WS_HRP_W, n, err);
    size_t *parent = cpo_ws_ibuf(ws, WSI_HRP_PARENT, n, err);
    size_t *label = cpo_ws_ibuf(ws, WSI_HRP_LABEL, n, err);
    size_t *left = cpo_ws_ibuf(ws, WSI_HRP_LEFT, n, err);
    size_t *right = cpo_ws_ibuf(ws, WSI_HRP_RIGHT, n, err);
    size_t *ord = cpo_ws_ibuf(ws, WSI_HRP_ORDER, n, err);
    size_t *stack = cpo_ws_ibuf(ws, WSI_HRP_STACK, 2 * n, err);
    size_t *ei = cpo_ws_ibuf(ws, WSI_HRP_EDGE, n, err);
    size_t *ej = cpo_ws_ibuf(ws, WSI_HRP_EDGE2, n, err);
    if (!d || !e || !best || !ew || !parent || !label || !left || !right || !ord || !stack ||
        !ei || !ej) {
        rc = CPO_ENOMEM;
        goto cleanup;
    }
    /* 1-2: distances. */
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            double r = cov[i * n + j] / sqrt(cov[i * n + i] * cov[j * n + j]);
            r = r > 1.0 ? 1.0 : r < -1.0 ? -1.0 : r;
            d[i * n + j] = i == j ? 0.0 : sqrt(0.5 * (1.0 - r));
        }
    const double *m = d;
    if (dist == CPO_HRP_D_EUCLID) {
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j <= i; j++) {
                double s = 0.0;
                for (size_t k = 0; k < n; k++) {
                    double t = d[k * n + i] - d[k * n + j];
                    s += t * t;
                }
                e[i * n + j] = e[j * n + i] = sqrt(s);
            }
        m = e;
    }
    /* 3: minimum spanning tree (Prim); label[] flags the tree, ei = the
     * tree node a candidate's best edge comes from. */
    size_t ne = 0;
    for (size_t i = 0; i < n; i++) {
        label[i] = 0;
        best[i] = m[i];  /* distance to node 0 */
        ei[i] = 0;
    }
    label[0] = 1;
    for (size_t step = 1; step < n; step++) {
        size_t jb = n;
        for (size_t j = 0; j < n; j++)
            if (!label[j] && (jb == n || best[j] < best[jb]))
                jb = j;
        label[jb] = 1;
        ej[ne] = jb;
        ew[ne] = best[jb];
        parent[ne] = ei[jb]; /* parent[] holds the edge's other end for now */
        ne++;
        for (size_t j = 0; j < n; j++)
            if (!label[j] && m[jb * n + j] < best[j]) {
                best[j] = m[jb * n + j];
                ei[j] = jb;
            }
    }
    for (size_t k = 0; k < ne; k++)
        ei[k] = parent[k];
    /* Stable insertion sort of the edges by length. */
    for (size_t k = 1; k < ne; k++) {
        double wk = ew[k];
        size_t a = ei[k], b = ej[k], p = k;
        while (p > 0 && ew[p - 1] > wk) {
            ew[p] = ew[p - 1];
            ei[p] = ei[p - 1];
            ej[p] = ej[p - 1];
            p--;
        }
        ew[p] = wk;
        ei[p] = a;
        ej[p] = b;
    }
    /* Merges with scipy's labels. */
    for (size_t i = 0; i < n; i++) {
        parent[i] = i;
        label[i] = i;
    }
    for (size_t k = 0; k < ne; k++) {
        size_t ra = uf_find(parent, ei[k]), rb = uf_find(parent, ej[k]);
        size_t la = label[ra], lb = label[rb];
        left[k] = la < lb ? la : lb;
        right[k] = la < lb ? lb : la;
        parent[rb] = ra;
        label[ra] = n + k;
    }
    /* Pre-order of the tree, left first. */
    size_t no = 0, sp = 0;
    stack[sp++] = n == 1 ? 0 : 2 * n - 2;
    while (sp > 0) {
        size_t c = stack[--sp];
        if (c < n) {
            ord[no++] = c;
            continue;
        }
        stack[sp++] = right[c - n];
        stack[sp++] = left[c - n];
    }
    /* 4: recursive bisection (depth first; the scalings commute). */
    for (size_t i = 0; i < n; i++)
        w[i] = 1.0;
    sp = 0;
    stack[sp++] = 0;
    stack[sp++] = n;
    while (sp > 0) {
        size_t hi = stack[--sp], lo = stack[--sp];
        if (hi - lo < 2)
            continue;
        size_t mid = lo + (hi - lo) / 2;
        double v1 = cluster_var(cov, n, ord + lo, mid - lo);
        double v2 = cluster_var(cov, n, ord + mid, hi - mid);
        double alpha = 1.0 - v1 / (v1 + v2);
        for (size_t k = lo; k < mid; k++)
            w[ord[k]] *= alpha;
        for (size_t k = mid; k < hi; k++)
            w[ord[k]] *= 1.0 - alpha;
        stack[sp++] = lo;
        stack[sp++] = mid;
        stack[sp++] = mid;
        stack[sp++] = hi;
    }
    if (order)
        memcpy(order, ord, n * sizeof *order);
cleanup:
    cpo_alloc_ws_free(own);
    return rc;
}
