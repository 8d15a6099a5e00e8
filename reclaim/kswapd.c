/*
 * reclaim/kswapd.c - kswapd: a libuv loop on its own thread.
 *
 *   sleeping --uv_async (free < low, from any allocation; async-signal-
 *      ^       safe, so the fault path may send it)--> balancing: reclaim
 *      |       in batches until free >= high (pageoutrun)
 *      |                                    |
 *      +-- nap over and still balanced <-- napping (KSWAPD_NAP_MS, a
 *                                           uv_timer_t), as Linux's
 *                                           kswapd_try_to_sleep:
 *          woken during the nap: kswapd_low_wmark_hit_quickly, balance;
 *          nap over but free < high: kswapd_high_wmark_hit_quickly, balance
 *
 * With vm_config.kswapd off the thread still runs (it is the machine's
 * clock for periodic work: PSI's averages every 2 s, the event log's
 * vmstat/psi samples every log_sample_ms, the OOM reports) but never
 * reclaims: reclaim is direct only.
 * kswapd_stop closes every handle and the loop (uv_loop_close returns 0).
 *
 * Locking: the machine lock around each balancing run and check; the
 * libuv handles are touched only by this thread, except uv_async_send.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <uv.h>

#include "reclaim/oom.h"
#include "reclaim/reclaim_internal.h"
#include "vm/vmlog.h"
#include "vm/page_alloc.h"
#include "vm/vmstat.h"

#define KSWAPD_NAP_MS  100  /* Linux's HZ/10 */
#define KSWAPD_TICK_MS 2000 /* PSI's period */

struct kswapd {
	struct vm *vm;
	bool reclaims; /* vm_config.kswapd */
	bool napping;
	uv_loop_t loop;
	uv_async_t wake, stop, work;
	uv_timer_t nap;
	uv_timer_t tick;   /* periodic work: PSI's averages */
	uv_timer_t sample; /* the event log's vmstat/psi rows */
	pthread_t thread;
};

static void on_nap_over(uv_timer_t *t);

/* One balancing run, then the nap. */
static void balance(struct kswapd *k)
{
	struct vm *vm = k->vm;

	vm_lock(vm);
	vm_event(vm, VME_KSWAPD_WAKE, NULL, 0, 0, 0, (int64_t)vm_nr_free(vm));
	kswapd_balance(vm->reclaim);
	vm_unlock(vm);
	k->napping = true;
	uv_timer_start(&k->nap, on_nap_over, KSWAPD_NAP_MS, 0);
}

static void on_wake(uv_async_t *h)
{
	struct kswapd *k = h->data;

	if (!k->reclaims)
		return;
	if (k->napping) {
		uv_timer_stop(&k->nap);
		k->napping = false;
		vm_lock(k->vm);
		vm_count(k->vm, VME_KSWAPD_LOW_WMARK_HIT_QUICKLY, 1);
		vm_unlock(k->vm);
	}
	balance(k);
}

static void on_nap_over(uv_timer_t *t)
{
	struct kswapd *k = t->data;
	struct vm *vm = k->vm;
	bool still = false;

	k->napping = false;
	vm_lock(vm);
	if (vm_nr_free(vm) < vm->wmark.high) {
		vm_count(vm, VME_KSWAPD_HIGH_WMARK_HIT_QUICKLY, 1);
		still = true;
	} else {
		vm_event(vm, VME_KSWAPD_SLEEP, NULL, 0, 0, 0,
			 (int64_t)vm_nr_free(vm));
	}
	vm_unlock(vm);
	if (still)
		balance(k);
}

static void on_tick(uv_timer_t *t)
{
	struct kswapd *k = t->data;

	vm_lock(k->vm);
	reclaim_psi_tick(k->vm);
	vm_unlock(k->vm);
}

static void on_work(uv_async_t *h)
{
	struct kswapd *k = h->data;

	oom_publish(k->vm);
}

static void on_sample(uv_timer_t *t)
{
	struct kswapd *k = t->data;

	vmlog_sample(k->vm);
}

static void on_stop(uv_async_t *h)
{
	struct kswapd *k = h->data;

	uv_close((uv_handle_t *)&k->sample, NULL);
	uv_close((uv_handle_t *)&k->work, NULL);
	uv_close((uv_handle_t *)&k->wake, NULL);
	uv_close((uv_handle_t *)&k->stop, NULL);
	uv_close((uv_handle_t *)&k->nap, NULL);
	uv_close((uv_handle_t *)&k->tick, NULL);
}

static void *kswapd_main(void *arg)
{
	struct kswapd *k = arg;

	uv_run(&k->loop, UV_RUN_DEFAULT);
	return NULL;
}

/* The loop and its three handles; on failure nothing is left open. */
static int init_handles(struct kswapd *k)
{
	int err = uv_loop_init(&k->loop);

	if (err)
		return err;
	err = uv_async_init(&k->loop, &k->wake, on_wake);
	if (err)
		goto out_loop;
	err = uv_async_init(&k->loop, &k->stop, on_stop);
	if (err)
		goto out_wake;
	err = uv_async_init(&k->loop, &k->work, on_work);
	if (err)
		goto out_stop;
	uv_timer_init(&k->loop, &k->nap); /* cannot fail */
	uv_timer_init(&k->loop, &k->tick);
	k->wake.data = k->stop.data = k->nap.data = k->tick.data = k;
	k->work.data = k;
	uv_timer_start(&k->tick, on_tick, KSWAPD_TICK_MS, KSWAPD_TICK_MS);
	uv_timer_init(&k->loop, &k->sample);
	k->sample.data = k;
	if (k->vm->log && k->vm->cfg.log_sample_ms)
		uv_timer_start(&k->sample, on_sample, k->vm->cfg.log_sample_ms,
			       k->vm->cfg.log_sample_ms);
	return 0;

out_stop:
	uv_close((uv_handle_t *)&k->stop, NULL);
out_wake:
	uv_close((uv_handle_t *)&k->wake, NULL);
	uv_run(&k->loop, UV_RUN_DEFAULT);
out_loop:
	uv_loop_close(&k->loop);
	return err;
}

int kswapd_start(struct vm *vm, struct kswapd **out)
{
	struct kswapd *k = calloc(1, sizeof(*k));
	int err;

	if (!k)
		return -ENOMEM;
	k->vm = vm;
	k->reclaims = vm->cfg.kswapd;
	err = init_handles(k);
	if (err) {
		free(k);
		return err;
	}
	err = -pthread_create(&k->thread, NULL, kswapd_main, k);
	if (err) {
		/* Handles on a loop that never ran: close them, then it. */
		on_stop(&k->stop);
		uv_run(&k->loop, UV_RUN_DEFAULT);
		uv_loop_close(&k->loop);
		free(k);
		return err;
	}
	*out = k;
	return 0;
}

void kswapd_stop(struct kswapd *k)
{
	int rc;

	if (!k)
		return;
	uv_async_send(&k->stop);
	pthread_join(k->thread, NULL);
	rc = uv_loop_close(&k->loop);
	BUG_ON(rc != 0); /* a handle left open */
	free(k);
}

SIGSAFE void kswapd_kick(struct kswapd *k)
{
	uv_async_send(&k->work);
}

SIGSAFE void kswapd_wake(struct kswapd *k)
{
	if (k->reclaims)
		uv_async_send(&k->wake);
}
