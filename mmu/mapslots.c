/*
 * mmu/mapslots.c - the host map-slot budget (see mapslots.h for the idea).
 *
 * Invariant: b->est >= the real number of mappings of the process at the
 * last recount plus twice the host-mapping calls since (an upper bound, as
 * long as other code of the process does not map much in between - the
 * reserve covers that).  SIGSAFE: open/read/close on /proc/self/maps.
 */
#include "mmu/mapslots.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

void mapslots_init(struct mapslots *b, long max_map_count)
{
	long reserve = max_map_count / 8;

	if (reserve < MAPSLOTS_MIN_RESERVE)
		reserve = MAPSLOTS_MIN_RESERVE;
	b->limit = max_map_count - reserve;
	b->recounts = 0;
	b->holdoff = 0;
	b->est = 0;
	mapslots_recount(b);
}

long mapslots_count(void)
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

bool mapslots_recount(struct mapslots *b)
{
	long n = mapslots_count();

	b->recounts++;
	b->est = n < 0 ? b->limit : n; /* unreadable: assume full */
	return b->est < b->limit;
}

bool mapslots_charge(struct mapslots *b)
{
	b->est += MAPSLOTS_CALL_COST;
	if (b->holdoff > 0) {
		b->holdoff--;
		return true;
	}
	return b->est < b->limit || mapslots_recount(b);
}

void mapslots_give_up(struct mapslots *b)
{
	b->holdoff = MAPSLOTS_HOLDOFF;
}

#define MAX_MAP_COUNT_PATH "/proc/sys/vm/max_map_count"
#define MAPSLOTS_DECIMAL   10

long mapslots_host_limit(void)
{
	char buf[32];
	ssize_t n;
	long val = 0;
	int fd, err;

	fd = open(MAX_MAP_COUNT_PATH, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf));
	err = errno;
	close(fd);
	if (n < 0)
		return -err;
	if (n == 0 || buf[0] < '0' || buf[0] > '9')
		return -EINVAL;
	for (ssize_t i = 0; i < n && buf[i] >= '0' && buf[i] <= '9'; i++)
		val = val * MAPSLOTS_DECIMAL + (buf[i] - '0');
	return val;
}
