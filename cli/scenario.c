/*
 * cli/scenario.c - what `vmemu run` runs without -w, and the story it
 * tells while it runs.
 *
 * The scenario is three workload specs, exactly as -w takes them, sized
 * from --mem (and --swap = mem/2 unless given):
 *
 *   sleeper  idle, mem/4: writes its pages, sleeps, reads them back
 *   worker   hotcold, mem/4, from 0.5 s: a hot fifth gets 90% of its
 *            accesses
 *   hog      from 0.5 s, grows by mem/64 at a time until the OOM killer
 *            ends it (its expected end)
 *
 *        free ^
 *             |\____ sleeper, worker fill        hog killed: free again
 *             |     \__________                 ___________________
 *         low |- - - - - - - - \_ kswapd wakes /
 *         min |- - - - - - - - - \_/\_/\_/\__/  direct reclaim, swap-out,
 *             +--------------------------------------------------> t
 *                0         0.5 s           ~1 s        ~3 s: sleeper's
 *                                                      pages swap back in
 *
 * The story it tells is cli/story.c.  tests/test_cli.c checks that the
 * scenario reaches every milestone, with every surviving task's data
 * verified, in both modes.  No state.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli/run.h"

#define MIN_CHUNK (64 * 1024ULL)
#define MAX(a, b) ((a) > (b) ? (a) : (b))

static const struct {
	const char *spec;
	unsigned size_div;  /* size = mem / size_div; 0: no size key */
	unsigned chunk_div; /* hog: chunk = mem / chunk_div */
} scenario[] = {
	{ "idle:name=sleeper,sleep=2500,ops=20", 4, 0 },
	{ "hotcold:name=worker,hot=0.2,share=0.9,ops=1000000,delay=500", 4, 0 },
	{ "hog:name=hog,delay=500", 0, 64 },
};

const char cli_scenario_help[] =
	"three tasks on --mem, with\n--swap mem/2 unless given:\n"
	"  sleeper  writes mem/4, sleeps 2.5 s, reads it all back\n"
	"  worker   from 0.5 s, 10^6 accesses to mem/4, 90% to a hot fifth\n"
	"  hog      from 0.5 s, grows until the OOM killer ends it\n"
	"It says what kswapd, direct reclaim, swap, refaults and the OOM "
	"killer do as\nit happens, then what the counters show";

int cli_scenario_build(struct cli_run *r)
{
	uint64_t mem = r->cfg.mem_bytes;

	if (!r->swap_set)
		r->cfg.swap_bytes = mem / 2 / VM_PAGE_SIZE * VM_PAGE_SIZE;
	for (size_t i = 0; i < sizeof(scenario) / sizeof(scenario[0]); i++) {
		char text[200], err[160];
		struct wl_spec spec;
		int n = snprintf(text, sizeof(text), "%s", scenario[i].spec);

		if (scenario[i].size_div)
			snprintf(text + n, sizeof(text) - (size_t)n,
				 ",size=%llu",
				 (unsigned long long)(mem /
						      scenario[i].size_div));
		if (scenario[i].chunk_div) {
			uint64_t chunk = mem / scenario[i].chunk_div;

			snprintf(text + n, sizeof(text) - (size_t)n,
				 ",chunk=%llu",
				 (unsigned long long)MAX(chunk, MIN_CHUNK));
		}
		if (wl_spec_parse(text, &spec, err, sizeof(err)) < 0)
			return -EINVAL; /* a bug in the table */
		if (cli_run_add(r, &spec) < 0)
			return -ENOMEM;
	}
	return 0;
}
