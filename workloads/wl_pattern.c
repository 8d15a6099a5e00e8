/*
 * workloads/wl_pattern.c - which page each op touches, per kind.
 *
 * An op is one access (wl_touch) to one page; whether it writes is drawn
 * after the page, with probability spec.write.  Per kind (npages pages):
 *
 *   seq, zero   page = op mod npages
 *   rand        uniform over the pages (also hog, forkstorm, idle)
 *   zipf        the smallest i with cdf[i] >= u, u uniform in [0,1),
 *               cdf[i] = sum_{j<=i} (j+1)^-alpha / H; page i is rank i
 *   hotcold     hot = max(1, hot x npages) first pages; with probability
 *               share a uniform hot page, else a uniform cold one
 *   phases      ws = max(1, ws x npages) pages starting at
 *               (op / period) x ws mod npages; uniform within them
 *   stride      page = (op mod ceil(npages / k)) x k
 *
 * Everything is drawn from the proc's own generator, so a task's
 * sequence depends only on its seed.  The zipf CDF is built once per run
 * by the controlling thread and only read by tasks.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "workloads/wl_internal.h"

#define PHASE_PERIOD_WS 4 /* default period: this many ws pages of ops */

int wl_zipf_build(struct wl_run *run, uint64_t npages)
{
	double sum = 0, *cdf;

	if (npages > SIZE_MAX / sizeof(double))
		return -ENOMEM;
	cdf = malloc(npages * sizeof(double));
	if (!cdf)
		return -ENOMEM;
	for (uint64_t i = 0; i < npages; i++) {
		sum += pow((double)(i + 1), -run->spec.alpha);
		cdf[i] = sum;
	}
	for (uint64_t i = 0; i < npages; i++)
		cdf[i] /= sum;
	cdf[npages - 1] = 1.0;
	run->zipf_cdf = cdf;
	run->zipf_pages = npages;
	return 0;
}

static uint64_t zipf_page(struct wl_proc *p)
{
	const double *cdf = p->run->zipf_cdf;
	double u = wl_rand_unit(p);
	uint64_t lo = 0, hi = p->run->zipf_pages - 1;

	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;

		if (cdf[mid] >= u)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

static uint64_t fraction_pages(double f, uint64_t npages)
{
	uint64_t n = (uint64_t)(f * (double)npages);

	return n ? (n > npages ? npages : n) : 1;
}

static uint64_t hotcold_page(struct wl_proc *p)
{
	const struct wl_spec *s = &p->run->spec;
	uint64_t hot = fraction_pages(s->hot, p->npages);
	bool to_hot = wl_rand_unit(p) < s->share;

	if (to_hot || hot == p->npages)
		return wl_rand(p) % hot;
	return hot + wl_rand(p) % (p->npages - hot);
}

static uint64_t phases_page(struct wl_proc *p, uint64_t op)
{
	const struct wl_spec *s = &p->run->spec;
	uint64_t ws = fraction_pages(s->ws, p->npages);
	uint64_t period = s->period ? s->period : PHASE_PERIOD_WS * ws;
	uint64_t start = (op / period) % p->npages * ws % p->npages;

	return (start + wl_rand(p) % ws) % p->npages;
}

uint64_t wl_pattern_next(struct wl_proc *p, uint64_t op)
{
	const struct wl_spec *s = &p->run->spec;

	switch (s->kind) {
	case WL_SEQ:
	case WL_ZERO:
		return op % p->npages;
	case WL_ZIPF:
		return zipf_page(p);
	case WL_HOTCOLD:
		return hotcold_page(p);
	case WL_PHASES:
		return phases_page(p, op);
	case WL_STRIDE: /* ceil(npages / k) pages: 0, k, 2k, ... */
		return op %
		       (p->npages / s->stride + (p->npages % s->stride != 0)) *
		       s->stride;
	case WL_RAND:
	case WL_HOG:
	case WL_FORKSTORM:
	case WL_IDLE:
	case WL_SEGV:
	case WL_MALLOC:
	case WL_FILESCAN: /* wl_file.c's kinds have their own patterns */
	case WL_FILERW:
	case WL_SHM:
	case WL_NR_KINDS:
		break;
	}
	return wl_rand(p) % p->npages;
}

uint64_t wl_pattern_ops(const struct wl_proc *p)
{
	const struct wl_spec *s = &p->run->spec;

	if (s->ops)
		return s->ops;
	if (p->npages && s->passes > UINT64_MAX / p->npages)
		return UINT64_MAX;
	return s->passes * p->npages;
}

int wl_pattern_run(struct wl_proc *p, uint64_t ops)
{
	double wr = p->run->spec.write;

	if (!p->npages)
		return 0;
	for (uint64_t op = 0; op < ops; op++) {
		uint64_t page;

		if (op % WL_CHECK_OPS == 0 && wl_checkpoint(p))
			return 1;
		page = wl_pattern_next(p, op);
		if (wl_touch(p, page, wl_rand_unit(p) < wr) < 0)
			return -1;
	}
	return 0;
}
