/*
 * mmu/hostmap.c - the host map-slot budget (see hostmap.h for the idea).
 *
 * Invariant: b->est >= the real number of mappings of the process at the
 * last recount plus twice the host-mapping calls since (an upper bound, as
 * long as other code of the process does not map much in between - the
 * reserve covers that).  SIGSAFE: open/read/close on /proc/self/maps.
 */
#include "mmu/hostmap.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

void hostmap_budget_init(struct hostmap_budget *b, long max_map_count)
{
	long reserve = max_map_count / 8;

	if (reserve < HOSTMAP_MIN_RESERVE)
		reserve = HOSTMAP_MIN_RESERVE;
	b->limit = max_map_count - reserve;
	b->recounts = 0;
	b->holdoff = 0;
	b->est = 0;
	hostmap_recount(b);
}

long hostmap_count(void)
{
	char buf[32768];
	long lines = 0;
	ssize_t n;
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		for (ssize_t i = 0; i < n; i++)
			lines += buf[i] == '\n';
	close(fd);
	return n < 0 ? -EIO : lines;
}

bool hostmap_recount(struct hostmap_budget *b)
{
	long n = hostmap_count();

	b->recounts++;
	b->est = n < 0 ? b->limit : n; /* unreadable: assume full */
	return b->est < b->limit;
}

bool hostmap_charge(struct hostmap_budget *b)
{
	b->est += HOSTMAP_CALL_COST;
	if (b->holdoff > 0) {
		b->holdoff--;
		return true;
	}
	return b->est < b->limit || hostmap_recount(b);
}

void hostmap_give_up(struct hostmap_budget *b)
{
	b->holdoff = HOSTMAP_HOLDOFF;
}
