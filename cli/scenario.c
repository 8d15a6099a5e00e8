/*
 * cli/scenario.c - what `vmemu run` runs without -w: a list of workload
 * specs, exactly as they would be given with -w, each with a region of
 * --mem / mem_div bytes appended.
 *
 * For now it is the demonstration of what the machine has: demand
 * paging verified byte for byte, fork with copy-on-write, the shared
 * zero frame, an emulated SIGSEGV.  When reclaim, swap and the OOM
 * killer land it becomes the pressure scenario by editing the table
 * (e.g. an idle task, a working set, and a hog that ends OOM-killed).
 */
#include <errno.h>
#include <stdio.h>

#include "cli/run.h"

static const struct {
	const char *spec;
	unsigned mem_div; /* size = mem / mem_div; 0: no size key */
} scenario[] = {
	{ "seq:name=fill-verify,passes=2,write=1", 16 },
	{ "seq:name=fork-cow,passes=1,write=1,fork=2", 32 },
	{ "zero:name=zero-reader", 16 },
	{ "segv:name=null-deref", 0 },
};

const char cli_scenario_help[] =
	"four tasks: fill-verify (writes and verifies\nmem/16), fork-cow "
	"(two children break COW on mem/32), zero-reader (reads\nnever-written "
	"mem/16: the zero frame) and null-deref (loads from address 0)";

int cli_scenario_build(struct cli_run *r)
{
	for (size_t i = 0; i < sizeof(scenario) / sizeof(scenario[0]); i++) {
		uint64_t size = scenario[i].mem_div ?
					r->cfg.mem_bytes / scenario[i].mem_div :
					0;
		char text[160], err[160];
		struct wl_spec spec;

		if (size)
			snprintf(text, sizeof(text), "%s,size=%llu",
				 scenario[i].spec,
				 (unsigned long long)(size < VM_PAGE_SIZE ?
							      VM_PAGE_SIZE :
							      size));
		else
			snprintf(text, sizeof(text), "%s", scenario[i].spec);
		if (wl_spec_parse(text, &spec, err, sizeof(err)) < 0)
			return -EINVAL; /* a bug in the table */
		if (cli_run_add(r, &spec) < 0)
			return -ENOMEM;
	}
	return 0;
}
