/*
 * vm/filemap.c - the page cache's objects and membership (see filemap.h):
 * the machine's table of objects, finding a host file's object by device
 * and inode, pages joining and leaving trees, dirty and mapped
 * accounting, teardown and the invariant walker.  Reading and writing
 * back are vm/filemap_io.c's; the system calls vm/filemap_sys.c's.
 *
 * Object lifetime: a file object lives while a VMA refers to it or it
 * caches a page (or a shadow); one with neither is freed when the next
 * file mapping is made (filemap_get_file), so a machine that maps many
 * files does not hold their descriptors forever.  A shmem object dies
 * with its last VMA (vm/shmem.c).  The table of objects is an array by
 * id, grown (realloc) only by system calls, under the machine lock.
 *
 * Locking: the machine lock.  SIGSAFE: everything marked so.
 */
#include "vm/filemap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "reclaim/reclaim.h"
#include "swap/swap.h"
#include "vm/mm.h"
#include "vm/rmap.h"
#include "vm/shmem.h"
#include "vm/slab.h"
#include "vm/vma.h"
#include "vm/vmstat.h"

#define MAPS_INITIAL   16
#define RA_KB_PER_PAGE (PAGE_SIZE >> 10)

static inline struct pagecache *pc(struct vm *vm)
{
	return vm->pcache;
}

int filemap_setup(struct vm *vm)
{
	struct pagecache *p = calloc(1, sizeof(*p));
	int err;

	if (!p)
		return -ENOMEM;
	p->maps = calloc(MAPS_INITIAL, sizeof(*p->maps));
	err = p->maps ? slab_cache_create(vm->slab, "radix_tree_node",
					  pgtree_node_size(), &p->node_cache) :
			-ENOMEM;
	if (err) {
		free(p->maps);
		free(p);
		return err;
	}
	slab_cache_set_gfp(p->node_cache, GFP_FAULT_META);
	p->nr_maps = MAPS_INITIAL;
	p->ra_pages = vm->cfg.read_ahead_kb / RA_KB_PER_PAGE;
	fault_attr_init(&p->fail_read, vm->cfg.seed + 11);
	fault_attr_init(&p->fail_write, vm->cfg.seed + 12);
	vm->pcache = p;
	return 0;
}

void filemap_stat(struct vm *vm, struct vm_stat *st)
{
	const struct pagecache *p = pc(vm);

	if (!p)
		return;
	st->nr_file_pages = p->nr_file_pages;
	st->nr_shmem = p->nr_shmem;
	st->nr_dirty = p->nr_dirty;
	st->nr_writeback = p->nr_writeback;
	st->nr_mapped = p->nr_mapped;
}

SIGSAFE struct filemap *filemap_of(struct vm *vm, const struct page *pg)
{
	BUG_ON(!(pg->flags & PG_file) || pg->private >= pc(vm)->nr_maps);
	return pc(vm)->maps[pg->private];
}

/* A free id in the table (grown if needed); 0 when out of memory. */
static uint32_t new_id(struct vm *vm)
{
	struct pagecache *p = pc(vm);
	struct filemap **maps;
	uint32_t id, n;

	for (id = 1; id < p->nr_maps; id++)
		if (!p->maps[id])
			return id;
	if (p->nr_maps >= UINT32_MAX / 2)
		return 0;
	n = p->nr_maps * 2;
	maps = realloc(p->maps, n * sizeof(*maps));
	if (!maps)
		return 0;
	memset(maps + p->nr_maps, 0, (n - p->nr_maps) * sizeof(*maps));
	p->maps = maps;
	id = p->nr_maps;
	p->nr_maps = n;
	return id;
}

/* A new object of kind registered in the table; NULL if out of memory. */
static struct filemap *object_new(struct vm *vm, enum filemap_kind kind)
{
	struct filemap *fm = calloc(1, sizeof(*fm));
	uint32_t id = fm ? new_id(vm) : 0;

	if (!id) {
		free(fm);
		return NULL;
	}
	fm->id = id;
	fm->kind = kind;
	fm->fd = fm->fd_rw = -1;
	pgtree_init(&fm->tree, pc(vm)->node_cache);
	pc(vm)->maps[id] = fm;
	return fm;
}

/* Forget fm (its tree must be empty of pages) and free it. */
static void object_free(struct vm *vm, struct filemap *fm)
{
	BUG_ON(fm->nrpages || fm->nr_vmas);
	pgtree_destroy(&fm->tree); /* shadows and swap entries dealt with */
	if (fm->fd >= 0)
		close(fm->fd);
	if (fm->fd_rw >= 0 && fm->fd_rw != fm->fd)
		close(fm->fd_rw);
	pc(vm)->maps[fm->id] = NULL;
	free(fm);
}

/* Free every file object that neither a VMA nor a cached page needs. */
static void collect_unused(struct vm *vm)
{
	struct pagecache *p = pc(vm);

	for (uint32_t id = 1; id < p->nr_maps; id++) {
		struct filemap *fm = p->maps[id];

		if (fm && fm->kind == FILEMAP_FILE && !fm->nr_vmas &&
		    !fm->nrpages && !fm->nr_busy)
			object_free(vm, fm);
	}
}

static struct filemap *find_file(struct vm *vm, uint64_t dev, uint64_t ino)
{
	struct pagecache *p = pc(vm);

	for (uint32_t id = 1; id < p->nr_maps; id++) {
		struct filemap *fm = p->maps[id];

		if (fm && fm->kind == FILEMAP_FILE && fm->dev == dev &&
		    fm->ino == ino)
			return fm;
	}
	return NULL;
}

/* The access fd allows for this mapping: 0, -EBADF or -EACCES. */
static int check_access(int fd, int prot, int flags, bool *rw)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0)
		return -EBADF;
	*rw = (fl & O_ACCMODE) == O_RDWR;
	if ((fl & O_ACCMODE) == O_WRONLY)
		return -EACCES;
	if ((flags & VM_MAP_SHARED) && (prot & VM_PROT_WRITE) && !*rw)
		return -EACCES;
	return 0;
}

int filemap_get_file(struct vm *vm, int fd, int prot, int flags,
		     struct filemap **out)
{
	struct filemap *fm;
	struct stat st;
	bool rw;
	int err = check_access(fd, prot, flags, &rw);

	if (err)
		return err;
	if (fstat(fd, &st) < 0)
		return -EBADF;
	if (!S_ISREG(st.st_mode))
		return -ENODEV;
	collect_unused(vm);
	fm = find_file(vm, (uint64_t)st.st_dev, (uint64_t)st.st_ino);
	if (!fm) {
		fm = object_new(vm, FILEMAP_FILE);
		if (!fm)
			return -ENOMEM;
		fm->dev = (uint64_t)st.st_dev;
		fm->ino = (uint64_t)st.st_ino;
		fm->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
		if (fm->fd < 0) {
			err = -errno;
			object_free(vm, fm);
			return err;
		}
		if (rw)
			fm->fd_rw = fm->fd;
	} else if (rw && fm->fd_rw < 0) {
		fm->fd_rw = fcntl(fd, F_DUPFD_CLOEXEC, 0);
		if (fm->fd_rw < 0)
			return -errno;
	}
	fm->size = (uint64_t)st.st_size;
	*out = fm;
	return 0;
}

struct filemap *filemap_new_shmem(struct vm *vm)
{
	return object_new(vm, FILEMAP_SHMEM);
}

void filemap_get(struct filemap *fm)
{
	fm->nr_vmas++;
}

void filemap_put(struct vm *vm, struct filemap *fm)
{
	BUG_ON(fm->nr_vmas == 0);
	if (--fm->nr_vmas || fm->kind != FILEMAP_SHMEM)
		return;
	fm->next_dead = pc(vm)->dead; /* its PTEs may still be there */
	pc(vm)->dead = fm;
}

void filemap_release_dead(struct vm *vm)
{
	struct filemap *fm;

	while ((fm = pc(vm)->dead)) {
		pc(vm)->dead = fm->next_dead;
		shmem_destroy(vm, fm);
		object_free(vm, fm);
	}
}

/* ---- membership ---------------------------------------------------- */

/* ---- membership ---------------------------------------------------- */

SIGSAFE struct page *filemap_find(struct vm *vm, struct filemap *fm,
				  uint64_t pgoff)
{
	uint64_t e = pgtree_get(&fm->tree, pgoff);

	return fm_tag(e) == FM_PAGE ? phys_page(&vm->phys, fm_val(e)) : NULL;
}

SIGSAFE int filemap_add(struct vm *vm, struct filemap *fm, struct page *pg,
			uint64_t pgoff, uint64_t *old)
{
	uint64_t prev = pgtree_get(&fm->tree, pgoff);
	pfn_t pfn = phys_pfn(&vm->phys, pg);

	BUG_ON(fm_tag(prev) == FM_PAGE || (pg->flags & PG_file));
	if (pgtree_set(&fm->tree, pgoff, fm_entry(pfn, FM_PAGE)) < 0)
		return -ENOMEM;
	*old = prev;
	pg->flags |= PG_file;
	if (fm->kind == FILEMAP_SHMEM)
		pg->flags |= PG_swapbacked;
	pg->private = fm->id;
	pg->index = pgoff;
	pg->_refcount++;
	fm->nrpages++;
	pc(vm)->nr_file_pages++;
	if (fm->kind == FILEMAP_SHMEM)
		pc(vm)->nr_shmem++;
	return 0;
}

SIGSAFE void filemap_delete(struct vm *vm, struct page *pg, uint64_t entry)
{
	struct filemap *fm = filemap_of(vm, pg);
	bool shmem = fm->kind == FILEMAP_SHMEM;

	BUG_ON(pg->_mapcount || (pg->flags & (PG_writeback | PG_locked)));
	if (entry)
		BUG_ON(pgtree_set(&fm->tree, pg->index, entry) < 0);
	else
		pgtree_clear(&fm->tree, pg->index);
	if ((pg->flags & PG_dirty) && !shmem)
		pc(vm)->nr_dirty--;
	pg->flags &=
		~(uint32_t)(PG_file | PG_swapbacked | PG_dirty | PG_readahead);
	pg->private = 0;
	fm->nrpages--;
	pc(vm)->nr_file_pages--;
	if (shmem)
		pc(vm)->nr_shmem--;
}

SIGSAFE void filemap_dirty(struct vm *vm, struct page *pg)
{
	if ((pg->flags & (PG_file | PG_swapbacked)) != PG_file ||
	    (pg->flags & PG_dirty))
		return;
	pg->flags |= PG_dirty;
	pc(vm)->nr_dirty++;
	vm_count(vm, VME_NR_DIRTIED, 1);
}

SIGSAFE void filemap_mapped(struct vm *vm, struct page *pg)
{
	pg->_refcount++;
	if (pg->_mapcount++ == 0)
		pc(vm)->nr_mapped++;
}

SIGSAFE uint64_t filemap_pgoff(const struct vma *v, vaddr_t va)
{
	return v->pgoff + ((va - v->start) >> PAGE_SHIFT);
}

SIGSAFE void filemap_unmap_one(struct vm *vm, struct page *pg, struct mm *mm,
			       vaddr_t va)
{
	pte_t *ptep = pt_walk(&mm->pt, va), old;

	BUG_ON(!ptep || !pte_present(*ptep) ||
	       pte_pfn(*ptep) != phys_pfn(&vm->phys, pg));
	old = *ptep;
	mm_set_pte(mm, ptep, va, 0);
	pt_clear(&mm->pt, va); /* frees the tables it emptied */
	if (old & PTE_DIRTY)
		filemap_dirty(vm, pg);
	rmap_del(vm, pg, mm, va);
	page_unmapped(vm, pg);
	mm_rss_add_page(mm, pg, -1);
	pg->_refcount--;
}

SIGSAFE void filemap_drop_all(struct vm *vm, struct filemap *fm)
{
	uint64_t idx = 0, e;
	struct page *pg;

	while (pgtree_next(&fm->tree, &idx, &e)) {
		switch (fm_tag(e)) {
		case FM_PAGE:
			pg = phys_page(&vm->phys, fm_val(e));
			filemap_delete(vm, pg, 0);
			page_put(vm, pg); /* a reclaimer may still hold it */
			break;
		case FM_SWAP:
			pgtree_clear(&fm->tree, idx);
			swap_entry_free(vm, swp_entry(SWP_TYPE, fm_val(e)));
			break;
		default:
			pgtree_clear(&fm->tree, idx);
			break;
		}
		idx++;
	}
}

/* ---- teardown ------------------------------------------------------- */

void filemap_teardown(struct vm *vm)
{
	struct pagecache *p = pc(vm);

	if (!p)
		return;
	vm_lock(vm);
	for (uint32_t id = 1; id < p->nr_maps; id++)
		if (p->maps[id] && p->maps[id]->kind == FILEMAP_FILE)
			filemap_writeback(vm, p->maps[id], 0, UINT64_MAX);
	filemap_release_dead(vm);
	for (uint32_t id = 1; id < p->nr_maps; id++) {
		struct filemap *fm = p->maps[id];

		if (!fm)
			continue;
		filemap_drop_all(vm, fm);
		fm->nr_vmas = 0;
		object_free(vm, fm);
	}
	slab_cache_destroy(p->node_cache);
	vm->pcache = NULL;
	vm_unlock(vm);
	free(p->maps);
	free(p);
}

/* ---- invariant walker ----------------------------------------------- */

struct fm_counts {
	uint64_t file, shmem, dirty, writeback, mapped;
};

/* Invariants 1-2 for the tree of fm; its resident pages into *n. */
static int check_object(struct vm *vm, struct filemap *fm, uint64_t *n)
{
	uint64_t idx = 0, e;
	int err = pgtree_check(&fm->tree);

	if (err)
		return FILEMAP_CHECK_TREE;
	for (; pgtree_next(&fm->tree, &idx, &e); idx++) {
		const struct page *pg;

		if (fm_tag(e) != FM_PAGE)
			continue;
		pg = phys_page(&vm->phys, fm_val(e));
		if (!(pg->flags & PG_file) || pg->private != fm->id ||
		    pg->index != idx || (pg->flags & PG_buddy) ||
		    !(pg->flags & PG_swapbacked) != (fm->kind == FILEMAP_FILE))
			return FILEMAP_CHECK_ENTRY;
		if (pg->_refcount < pg->_mapcount + 1)
			return FILEMAP_CHECK_REFS;
		if ((pg->flags & PG_locked) &&
		    (pg->_mapcount || (pg->flags & PG_lru)))
			return FILEMAP_CHECK_LOCKED;
		(*n)++;
	}
	return *n == fm->nrpages ? 0 : FILEMAP_CHECK_NRPAGES;
}

/* Invariant 1 from the frames' side, and the counts of invariant 3. */
static int check_frames(struct vm *vm, struct fm_counts *c)
{
	struct pagecache *p = pc(vm);

	for (pfn_t pfn = 0; pfn < vm->phys.nr_pages; pfn++) {
		const struct page *pg = phys_page(&vm->phys, pfn);
		struct filemap *fm;

		if (pg->flags & PG_writeback)
			c->writeback++;
		if (!(pg->flags & PG_file))
			continue;
		fm = pg->private < p->nr_maps ? p->maps[pg->private] : NULL;
		if (!fm || filemap_find(vm, fm, pg->index) != pg)
			return FILEMAP_CHECK_STRAY;
		c->file++;
		c->shmem += (pg->flags & PG_swapbacked) != 0;
		c->dirty += (pg->flags & (PG_dirty | PG_swapbacked)) ==
			    PG_dirty;
		c->mapped += pg->_mapcount > 0;
	}
	return 0;
}

int filemap_check(struct vm *vm)
{
	struct pagecache *p = pc(vm);
	struct fm_counts c = { 0 };
	uint64_t total = 0;
	int err = 0;

	for (uint32_t id = 1; id < p->nr_maps && !err; id++) {
		uint64_t n = 0;

		if (p->maps[id])
			err = p->maps[id]->id != id ?
				      FILEMAP_CHECK_ENTRY :
				      check_object(vm, p->maps[id], &n);
		total += n;
	}
	if (!err)
		err = check_frames(vm, &c);
	if (!err &&
	    (c.file != total || c.file != p->nr_file_pages ||
	     c.shmem != p->nr_shmem || c.dirty != p->nr_dirty ||
	     c.writeback != p->nr_writeback || c.mapped != p->nr_mapped))
		err = FILEMAP_CHECK_COUNTS;
	return err;
}
