/*
 * tests/bench/bench_vmlog.c - what the event log costs a fault-heavy run:
 * the same trace-mode workload (demand-zero write faults over 256 Ki
 * pages, each one an anon_fault event) with and without the log, in
 * alternating repetitions of one run; the ratio of the medians (target
 * <= 1.10), and the events per second the log took in.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "tests/lib/benchutil.h"
#include "tests/lib/vmtest.h"

#define PAGE	 4096ULL
#define NPAGES	 (256ULL * 1024)
#define REPS	 5
#define NS_PER_S 1e9

static double run(const char *log)
{
	struct vm_config cfg;
	struct parked p;
	struct vm *vm;
	uint64_t a, t0, t1;

	vm_config_init(&cfg);
	cfg.mode = VM_MODE_TRACE;
	cfg.mem_bytes = 2ULL << 30; /* no pressure: faults only */
	cfg.log_path = log;
	vm = vmtest_create_cfg(&cfg);
	if (park_spawn(vm, &p, "faulter") < 0)
		exit(1);
	a = vm_mmap(p.t, 0, NPAGES * PAGE, VM_PROT_READ | VM_PROT_WRITE,
		    VM_MAP_PRIVATE | VM_MAP_ANON);
	t0 = bench_now_ns();
	for (uint64_t i = 0; i < NPAGES; i++)
		vm_access(p.t, a + i * PAGE, 1);
	park_release(&p, NULL);
	vmtest_destroy(vm); /* the log's last rows are written here */
	t1 = bench_now_ns();
	return (double)(t1 - t0) / NS_PER_S;
}

int main(void)
{
	double with[REPS], without[REPS], ratio[REPS], evps[REPS];
	char db[64];

	snprintf(db, sizeof(db), "/tmp/bench_vmlog.%d.db", (int)getpid());
	printf("bench_vmlog: %llu demand-zero faults (trace mode), log on vs "
	       "off, %d alternating repetitions\n",
	       (unsigned long long)NPAGES, REPS);
	for (int r = 0; r < REPS; r++) {
		unlink(db);
		with[r] = run(db);
		without[r] = run(NULL);
		ratio[r] = with[r] / without[r];
		evps[r] = NPAGES / with[r];
	}
	unlink(db);
	bench_report("run with the log (incl. closing it)", with, REPS, "s",
		     NULL);
	bench_report("run without", without, REPS, "s", NULL);
	bench_report("with / without", ratio, REPS, "x", "target <= 1.10");
	bench_report("fault events logged", evps, REPS, "events/s", NULL);
	return 0;
}
