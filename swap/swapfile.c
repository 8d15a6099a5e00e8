/*
 * swap/swapfile.c - a swap area's file: creation, the header page,
 * destruction, swap_probe() and the /proc/swaps text.  The slot allocator
 * is swap_slots.c, page I/O swap_io.c; swapfile.h is the contract.
 *
 *   page 0                                   pages 1 .. last_page
 *   +------+--------------------+--------+   +------+------+-- ... --+
 *   | zero | version, page size,| magic  |   |slot 1|slot 2|         |
 *   | 1 KiB| last_page (LE)     | (10 B) |   +------+------+-- ... --+
 *   +------+--------------------+--------+
 *   0      1024                  4086
 *
 * The layout is mkswap's (boot bits, then the info block at 1024, the
 * signature in the last bytes of the page) with our own signature, so a
 * Linux swap file is told apart from ours.
 *
 * Creation order: check the config, allocate the maps (no file exists yet
 * if that fails), create the file, preallocate it with posix_fallocate,
 * write the header.  A failure undoes the steps before it in reverse.
 *
 * Invariants:
 *  1. After swap_area_create succeeds, the file holds nr_pages * PAGE_SIZE
 *     bytes of allocated blocks and a valid header; fd stays open, O_RDWR,
 *     until swap_area_destroy.
 *  2. A file is removed only if this area created it at cfg->path and the
 *     path still names it (same device and inode): never anybody else's.
 *  3. An unlinked temporary file has no name in any directory from the
 *     moment swap_area_create returns.
 *
 * Locking: none; create and destroy must not race with other calls on the
 * area, swap_info reads nr_free under the caller's lock.  Nothing here is
 * SIGSAFE (malloc, stdio, readlink).
 */
#include "swap/swap_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mmu/pagetable.h"

_Static_assert(SWAP_MAX_BYTES / PAGE_SIZE - 1 <= SWP_MAX_OFFSET,
	       "a slot number must fit a swap PTE");
_Static_assert(SWAP_MAX_BYTES / PAGE_SIZE / SWAPFILE_CLUSTER < CLUSTER_NONE,
	       "cluster indices are 32 bits");

#define SWAP_FILE_MODE	    0600
#define SWAP_TMP_TEMPLATE   "vmemu-swap-XXXXXX"
#define SWAP_DEFAULT_TMPDIR "/tmp"
#define DELETED_SUFFIX	    " (deleted)" /* what d_path adds */
#define PROC_FD_FMT	    "/proc/self/fd/%d"
#define PROC_FD_LEN	    32
#define LINUX_MAGIC	    "SWAPSPACE2"

/* /proc/swaps (mm/swapfile.c, swap_show). */
#define INFO_HEADER	"Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"
#define INFO_NAME_WIDTH 40	  /* names are padded to this column */
#define INFO_WIDE_KB	10000000  /* from here on, one tab less */
#define INFO_ESCAPE	" \t\n\\" /* shown as \ooo, as seq_file_path */
#define ESCAPE_LEN	4	  /* "\ooo" */
#define KB_SHIFT	10

/* ---- messages and small helpers ---------------------------------------- */

static void say(char *err, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void say(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (!err || !len)
		return;
	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
}

static void put_le32(uint8_t *p, uint32_t v)
{
	for (unsigned i = 0; i < sizeof(v); i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put_le64(uint8_t *p, uint64_t v)
{
	for (unsigned i = 0; i < sizeof(v); i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, unsigned nbytes)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < nbytes; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

/* pread/pwrite the whole buffer (EINTR and short transfers): 0 or -errno. */
static int full_io(int fd, void *buf, size_t len, bool write)
{
	size_t done = 0;

	while (done < len) {
		ssize_t r = write ? pwrite(fd, (char *)buf + done, len - done,
					   (off_t)done) :
				    pread(fd, (char *)buf + done, len - done,
					  (off_t)done);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : -EIO;
		done += (size_t)r;
	}
	return 0;
}

/* ---- creation ---------------------------------------------------------- */

static int check_config(const struct swap_config *cfg, char *err, size_t errlen)
{
	unsigned long long n = cfg ? cfg->nbytes : 0;

	if (!cfg)
		say(err, errlen, "no swap configuration given");
	else if (!PAGE_ALIGNED(n))
		say(err, errlen,
		    "swap size %llu bytes is not a multiple of the page "
		    "size (%lu)",
		    n, PAGE_SIZE);
	else if (n < SWAP_MIN_BYTES)
		say(err, errlen,
		    "swap size %llu bytes leaves no slot beside the header "
		    "page (need at least %lu)",
		    n, SWAP_MIN_BYTES);
	else if (n > SWAP_MAX_BYTES)
		say(err, errlen,
		    "swap size %llu bytes exceeds the largest swap area "
		    "(%llu bytes)",
		    n, SWAP_MAX_BYTES);
	else if (cfg->path && !cfg->path[0])
		say(err, errlen, "the swap file path is empty");
	else
		return 0;
	return -EINVAL;
}

static void area_free(struct swap_area *a)
{
	free(a->map);
	free(a->priv);
	free(a->cl);
	free(a->name);
	free(a);
}

/* The area and its maps, for nbytes (checked). */
static int area_alloc(uint64_t nbytes, struct swap_area **out, char *err,
		      size_t errlen)
{
	struct swap_area *a = calloc(1, sizeof(*a));
	uint64_t nr_pages = nbytes / PAGE_SIZE, nr_clusters, nslots;

	nr_clusters = (nr_pages + SWAPFILE_CLUSTER - 1) / SWAPFILE_CLUSTER;
	nslots = nr_clusters * SWAPFILE_CLUSTER;
	if (a) {
		a->fd = -1;
		a->nr_pages = nr_pages;
		a->nr_clusters = nr_clusters;
		a->map = calloc(nslots, sizeof(*a->map));
		a->priv = calloc(nslots, sizeof(*a->priv));
		a->cl = calloc(nr_clusters, sizeof(*a->cl));
	}
	if (!a || !a->map || !a->priv || !a->cl) {
		say(err, errlen,
		    "cannot allocate the slot maps of a %llu-slot swap "
		    "area (%llu bytes of host memory)",
		    (unsigned long long)(nr_pages - 1),
		    (unsigned long long)(nslots *
					 (sizeof(*a->map) + sizeof(*a->priv))));
		if (a)
			area_free(a);
		return -ENOMEM;
	}
	*out = a;
	return 0;
}

/* mkstemp in dir, then unlink: the fallback for O_TMPFILE. */
static int tmpfile_mkstemp(const char *dir, char **name, char *err,
			   size_t errlen)
{
	size_t len = strlen(dir) + sizeof("/" SWAP_TMP_TEMPLATE DELETED_SUFFIX);
	char *tmpl = malloc(len);
	int fd, e;

	if (!tmpl) {
		say(err, errlen, "out of memory naming a temporary swap file");
		return -ENOMEM;
	}
	snprintf(tmpl, len, "%s/%s", dir, SWAP_TMP_TEMPLATE);
	fd = mkostemp(tmpl, O_CLOEXEC);
	if (fd < 0 || unlink(tmpl) < 0) {
		e = errno;
		say(err, errlen,
		    "cannot create a temporary swap file in %s: %s", dir,
		    strerror(e));
		if (fd >= 0)
			close(fd);
		free(tmpl);
		return -e;
	}
	strcat(tmpl, DELETED_SUFFIX);
	*name = tmpl;
	return fd;
}

/* The name Linux gives an O_TMPFILE file: "dir/#inode (deleted)". */
static int tmpfile_name(int fd, const char *dir, char **name)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (asprintf(name, "%s/#%llu%s", dir, (unsigned long long)st.st_ino,
		     DELETED_SUFFIX) < 0) {
		*name = NULL;
		return -ENOMEM;
	}
	return 0;
}

int swap_tmpfile_open(const char *dir, bool allow_o_tmpfile, char **name,
		      char *err, size_t errlen)
{
	int fd = -1, e;

	if (allow_o_tmpfile)
		fd = open(dir, O_RDWR | O_TMPFILE | O_EXCL | O_CLOEXEC,
			  SWAP_FILE_MODE);
	e = errno;
	if (fd < 0 &&
	    (!allow_o_tmpfile || e == EOPNOTSUPP || e == EISDIR || e == EINVAL))
		return tmpfile_mkstemp(dir, name, err, errlen);
	if (fd < 0) {
		say(err, errlen,
		    "cannot create a temporary swap file in %s: %s", dir,
		    strerror(e));
		return -e;
	}
	e = tmpfile_name(fd, dir, name);
	if (e) {
		close(fd);
		say(err, errlen, "cannot name a temporary swap file in %s: %s",
		    dir, strerror(-e));
		return e;
	}
	return fd;
}

/* A file just made at path whose identity cannot be read: remove it. */
static int undo_create(struct swap_area *a, const char *path, char *err,
		       size_t errlen)
{
	int e = errno;

	unlink(path); /* made by our O_EXCL open a moment ago */
	close(a->fd);
	a->fd = -1;
	say(err, errlen, "cannot stat swap file %s: %s", path, strerror(e));
	return -e;
}

/* Create the file at cfg->path: 0, or -errno with a message. */
static int open_path(struct swap_area *a, const char *path, char *err,
		     size_t errlen)
{
	struct stat st;
	int e;

	a->name = strdup(path);
	if (!a->name) {
		say(err, errlen, "out of memory naming swap file %s", path);
		return -ENOMEM;
	}
	a->fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		     SWAP_FILE_MODE);
	if (a->fd >= 0 && fstat(a->fd, &st) < 0)
		return undo_create(a, path, err, errlen);
	if (a->fd >= 0) {
		a->dev = st.st_dev;
		a->ino = st.st_ino;
		a->unlink_on_close = true;
		return 0;
	}
	e = errno;
	if (e == EEXIST)
		say(err, errlen,
		    "swap file %s already exists; refusing to overwrite it",
		    path);
	else
		say(err, errlen, "cannot create swap file %s: %s", path,
		    strerror(e));
	return -e;
}

static const char *tmp_dir(const struct swap_config *cfg)
{
	const char *d = cfg->tmpdir ? cfg->tmpdir : getenv("TMPDIR");

	return d && d[0] ? d : SWAP_DEFAULT_TMPDIR;
}

/*
 * Open the file (its identity recorded) and make its mode exactly 0600.
 * open() already gave 0600 less the umask, never more: a file system that
 * refuses fchmod leaves it at that, which is no reason to fail.
 */
static int open_file(struct swap_area *a, const struct swap_config *cfg,
		     char *err, size_t errlen)
{
	int rc;

	if (cfg->path)
		rc = open_path(a, cfg->path, err, errlen);
	else
		rc = swap_tmpfile_open(tmp_dir(cfg), true, &a->name, err,
				       errlen);
	if (rc < 0)
		return rc;
	if (!cfg->path)
		a->fd = rc;
	(void)fchmod(a->fd, SWAP_FILE_MODE); /* best effort, see above */
	return 0;
}

/* Preallocate the whole file, then write the header page. */
static int prepare_file(struct swap_area *a, char *err, size_t errlen)
{
	uint64_t nbytes = a->nr_pages * PAGE_SIZE;
	uint8_t *hdr;
	int rc;

	do
		rc = posix_fallocate(a->fd, 0, (off_t)nbytes);
	while (rc == EINTR);
	if (rc) {
		say(err, errlen,
		    "cannot preallocate %llu bytes for swap file %s: %s",
		    (unsigned long long)nbytes, a->name, strerror(rc));
		return -rc;
	}
	hdr = calloc(1, PAGE_SIZE);
	if (!hdr) {
		say(err, errlen, "out of memory writing swap file %s", a->name);
		return -ENOMEM;
	}
	put_le32(hdr + SWAP_HDR_OFFSET + SWAP_HDR_VERSION_OFF, SWAP_VERSION);
	put_le32(hdr + SWAP_HDR_OFFSET + SWAP_HDR_PAGE_SIZE_OFF, PAGE_SIZE);
	put_le64(hdr + SWAP_HDR_OFFSET + SWAP_HDR_LAST_PAGE_OFF,
		 a->nr_pages - 1);
	memcpy(hdr + SWAP_MAGIC_OFFSET, SWAP_MAGIC, SWAP_MAGIC_LEN);
	rc = full_io(a->fd, hdr, PAGE_SIZE, true);
	free(hdr);
	if (rc)
		say(err, errlen, "cannot write the header of swap file %s: %s",
		    a->name, strerror(-rc));
	return rc;
}

/* Invariant 2: remove the file only if we made it and it is still ours. */
static void close_file(struct swap_area *a)
{
	struct stat st;

	if (a->fd < 0)
		return;
	if (a->unlink_on_close && lstat(a->name, &st) == 0 &&
	    st.st_dev == a->dev && st.st_ino == a->ino)
		unlink(a->name);
	close(a->fd);
	a->fd = -1;
}

int swap_area_create(const struct swap_config *cfg, struct swap_area **out,
		     char *err, size_t errlen)
{
	struct swap_area *a;
	int rc;

	if (!out) {
		say(err, errlen, "nowhere to return the swap area");
		return -EINVAL;
	}
	*out = NULL;
	rc = check_config(cfg, err, errlen);
	if (!rc)
		rc = area_alloc(cfg->nbytes, &a, err, errlen);
	if (rc)
		return rc;
	rc = open_file(a, cfg, err, errlen);
	if (!rc)
		rc = prepare_file(a, err, errlen);
	if (rc) {
		close_file(a);
		area_free(a);
		return rc;
	}
	swap_slots_init(a);
	swap_io_init(a, cfg->seed);
	*out = a;
	return 0;
}

void swap_area_destroy(struct swap_area *a)
{
	if (!a)
		return;
	close_file(a);
	area_free(a);
}

/* ---- swap_probe -------------------------------------------------------- */

/* Check header page p of a file of fsize bytes; 0 or -EINVAL. */
static int check_header(const uint8_t *p, uint64_t fsize, const char *path,
			struct swap_header_info *info, char *err, size_t errlen)
{
	const uint8_t *h = p + SWAP_HDR_OFFSET;
	struct swap_header_info hi = {
		.version = (uint32_t)get_le(h + SWAP_HDR_VERSION_OFF, 4),
		.page_size = (uint32_t)get_le(h + SWAP_HDR_PAGE_SIZE_OFF, 4),
		.last_page = get_le(h + SWAP_HDR_LAST_PAGE_OFF, 8),
	};

	if (!memcmp(p + SWAP_MAGIC_OFFSET, LINUX_MAGIC, SWAP_MAGIC_LEN))
		say(err, errlen, "%s is a Linux swap area (%s), not vmemu's",
		    path, LINUX_MAGIC);
	else if (memcmp(p + SWAP_MAGIC_OFFSET, SWAP_MAGIC, SWAP_MAGIC_LEN))
		say(err, errlen,
		    "%s is not a vmemu swap area (no %s signature)", path,
		    SWAP_MAGIC);
	else if (hi.version != SWAP_VERSION)
		say(err, errlen,
		    "%s has swap header version %u; this vmemu reads "
		    "version %u",
		    path, hi.version, SWAP_VERSION);
	else if (hi.page_size != PAGE_SIZE)
		say(err, errlen, "%s was made for %u-byte pages, not %lu", path,
		    hi.page_size, PAGE_SIZE);
	else if (hi.last_page == 0 || hi.last_page >= fsize / PAGE_SIZE)
		say(err, errlen,
		    "%s: its header claims %llu slots but the file holds %llu",
		    path, (unsigned long long)hi.last_page,
		    (unsigned long long)(fsize / PAGE_SIZE) - 1);
	else {
		if (info)
			*info = hi;
		return 0;
	}
	return -EINVAL;
}

static int probe_fd(int fd, const char *path, struct swap_header_info *info,
		    char *err, size_t errlen)
{
	uint8_t page[PAGE_SIZE];
	struct stat st;
	int rc;

	if (fstat(fd, &st) < 0) {
		rc = -errno;
		say(err, errlen, "cannot stat %s: %s", path, strerror(-rc));
		return rc;
	}
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size < SWAP_MIN_BYTES) {
		say(err, errlen,
		    "%s is not a vmemu swap area (not a regular file of at "
		    "least %lu bytes)",
		    path, SWAP_MIN_BYTES);
		return -EINVAL;
	}
	rc = full_io(fd, page, sizeof(page), false);
	if (rc) {
		say(err, errlen, "cannot read %s: %s", path, strerror(-rc));
		return rc;
	}
	return check_header(page, (uint64_t)st.st_size, path, info, err,
			    errlen);
}

int swap_probe(const char *path, struct swap_header_info *info, char *err,
	       size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int rc;

	if (fd < 0) {
		rc = -errno;
		say(err, errlen, "cannot open %s: %s", path, strerror(-rc));
		return rc;
	}
	rc = probe_fd(fd, path, info, err, errlen);
	close(fd);
	return rc;
}

/* ---- /proc/swaps ------------------------------------------------------- */

int swap_format_line(char *buf, size_t len, const char *name, uint64_t size_kb,
		     uint64_t used_kb, int prio)
{
	int nlen = (int)strlen(name);

	return snprintf(buf, len, "%s%*s%s\t%llu\t%s%llu\t%s%d\n", name,
			nlen < INFO_NAME_WIDTH ? INFO_NAME_WIDTH - nlen : 1,
			" ", "file\t", (unsigned long long)size_kb,
			size_kb < INFO_WIDE_KB ? "\t" : "",
			(unsigned long long)used_kb,
			used_kb < INFO_WIDE_KB ? "\t" : "", prio);
}

/*
 * The file's name as the kernel shows it now (d_path: absolute, " (deleted)"
 * once unlinked), from /proc; the name recorded at creation without /proc.
 */
static void area_name(const struct swap_area *a, char *buf, size_t len)
{
	char link[PROC_FD_LEN];
	ssize_t n;

	snprintf(link, sizeof(link), PROC_FD_FMT, a->fd);
	n = readlink(link, buf, len - 1);
	if (n < 0)
		n = (ssize_t)(stpncpy(buf, a->name, len - 1) - buf);
	buf[n] = '\0';
}

/* Escape INFO_ESCAPE characters as \ooo (mangle_path), into out. */
static void escape_name(const char *in, char *out)
{
	for (; *in; in++) {
		if (strchr(INFO_ESCAPE, *in))
			out += sprintf(out, "\\%03o", (unsigned char)*in);
		else
			*out++ = *in;
	}
	*out = '\0';
}

int swap_info(const struct swap_area *a, char *buf, size_t len)
{
	char name[PATH_MAX], shown[PATH_MAX * ESCAPE_LEN];
	uint64_t size_kb, used_kb;
	int head = snprintf(buf, len, "%s", INFO_HEADER);
	size_t at = MIN((size_t)head, len ? len - 1 : 0);

	if (!a)
		return head;
	area_name(a, name, sizeof(name));
	escape_name(name, shown);
	size_kb = swap_nr_slots(a) << (PAGE_SHIFT - KB_SHIFT);
	used_kb = (swap_nr_slots(a) - swap_nr_free(a))
		  << (PAGE_SHIFT - KB_SHIFT);
	return head + swap_format_line(len ? buf + at : NULL, len - at, shown,
				       size_kb, used_kb, SWAP_PRIO_DEFAULT);
}
