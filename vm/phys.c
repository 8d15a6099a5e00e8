/*
 * vm/phys.c - the emulated frame pool: a memfd mapped once as the direct map,
 * plus mem_map, one struct page per frame.
 *
 * mem_map lives in host memory (an anonymous mapping, so a large pool costs
 * only what it touches); the frames themselves live in the memfd.  Nothing
 * here runs on the fault path except the inline accessors in phys.h.
 */
#include "vm/phys.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

_Static_assert(sizeof(struct page) <= 64, "struct page must stay <= 64 B");

static void phys_reset(struct phys *ph)
{
	ph->memfd = -1;
	ph->nr_pages = 0;
	ph->direct_map = NULL;
	ph->mem_map = NULL;
}

int phys_init(struct phys *ph, uint64_t nr_pages, const char **step)
{
	const char *dummy;
	uint64_t nbytes;
	size_t map_bytes;
	int err;

	if (!step)
		step = &dummy;
	phys_reset(ph);
	*step = "size";
	if (nr_pages == 0)
		return -EINVAL;
	if (nr_pages > PHYS_MAX_PAGES)
		return -EOVERFLOW;
	nbytes = nr_pages << PAGE_SHIFT;
	map_bytes = nr_pages * sizeof(struct page);

	*step = "memfd_create";
	ph->memfd = memfd_create("vmemu-ram", MFD_CLOEXEC);
	if (ph->memfd < 0)
		goto out_errno;
	*step = "ftruncate";
	if (ftruncate(ph->memfd, (off_t)nbytes) < 0)
		goto out_errno;
	*step = "mmap direct map";
	ph->direct_map = mmap(NULL, nbytes, PROT_READ | PROT_WRITE, MAP_SHARED,
			      ph->memfd, 0);
	if (ph->direct_map == MAP_FAILED) {
		ph->direct_map = NULL;
		goto out_errno;
	}
	*step = "mmap mem_map";
	ph->mem_map = mmap(NULL, map_bytes, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (ph->mem_map == MAP_FAILED) {
		ph->mem_map = NULL;
		goto out_errno;
	}
	ph->nr_pages = nr_pages;
	*step = NULL;
	return 0;

out_errno:
	err = -errno;
	ph->nr_pages = nr_pages; /* so phys_fini unmaps the right length */
	phys_fini(ph);
	return err;
}

void phys_fini(struct phys *ph)
{
	if (ph->mem_map)
		munmap(ph->mem_map, ph->nr_pages * sizeof(struct page));
	if (ph->direct_map)
		munmap(ph->direct_map, ph->nr_pages << PAGE_SHIFT);
	if (ph->memfd >= 0)
		close(ph->memfd);
	phys_reset(ph);
}
