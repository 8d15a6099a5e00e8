/*
 * workloads/wl_spec.c - the text of a workload: "KIND[:key=val,...]".
 *
 * Two tables drive everything: the kinds (name, summary, what one op is)
 * and the keys (name, value type, the field of struct wl_spec it sets,
 * which kinds take it).  Parsing, the defaults shown by --help and the
 * error messages all come from them, so a new key is one table line.
 *
 * Invariants: a spec that wl_spec_parse accepted is runnable: sizes are
 * page multiples (rounded up) and at least one page where the kind maps
 * a region, ratios are in 0..1, adj in -1000..1000, the name fits
 * WL_NAME_LEN.  No state, no locking.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "user/umalloc.h"
#include "workloads/wl.h"

#define KB	      1024ULL
#define MB	      (1024ULL * KB)
#define ADJ_MIN	      (-1000)
#define ADJ_MAX	      1000
#define SPEC_MAX_FORK 1000 /* children per task, a sanity bound */
#define BIT(k)	      (1u << (k))
#define ALL_KINDS     (BIT(WL_NR_KINDS) - 1)
#define REGION_KINDS  (ALL_KINDS & ~BIT(WL_SEGV) & ~BIT(WL_MALLOC))
#define SIZED_KINDS   (REGION_KINDS | BIT(WL_MALLOC))
#define MIN_REQUEST   16 /* malloc: smallest request drawn */
#define WRITE_KINDS   (REGION_KINDS & ~BIT(WL_ZERO) & ~BIT(WL_FILESCAN))

static const struct wl_kind_info kinds[WL_NR_KINDS] = {
	[WL_SEQ] = { "seq", "sequential sweeps over the region",
		     "one page, in address order, wrapping" },
	[WL_RAND] = { "rand", "uniformly random pages",
		      "one page drawn uniformly" },
	[WL_ZIPF] = { "zipf",
		      "Zipf-distributed pages: page i has weight "
		      "1/(i+1)^alpha",
		      "one page drawn from the Zipf CDF" },
	[WL_HOTCOLD] = { "hotcold",
			 "a hot fraction of the pages gets a share "
			 "of the accesses",
			 "one page: hot (uniform) with probability share, "
			 "else cold (uniform)" },
	[WL_PHASES] = { "phases",
			"a working set of ws x pages that moves "
			"to the next pages every period ops",
			"one page drawn uniformly from the current working "
			"set" },
	[WL_STRIDE] = { "stride",
			"every k-th page, over and over (the "
			"classic cache thrasher)",
			"one page: 0, k, 2k, ... then again from 0" },
	[WL_HOG] = { "hog",
		     "maps chunk after chunk and writes it, until "
		     "size (0: no cap) or an OOM kill, its expected end",
		     "after growing: one page drawn uniformly (growing "
		     "writes each page once, not counted)" },
	[WL_FORKSTORM] = { "forkstorm",
			   "rounds of: fork children that "
			   "write (COW) and exit; the parent "
			   "checks it saw none of it",
			   "one page access of a child, drawn uniformly" },
	[WL_IDLE] = { "idle",
		      "writes its memory, then sleeps, touching one "
		      "page now and then (swap-out bait)",
		      "one touch during the sleep: a page drawn uniformly" },
	[WL_ZERO] = { "zero",
		      "reads memory it never wrote: the shared zero "
		      "frame, verified all zeros",
		      "one page read, in address order" },
	[WL_SEGV] = { "segv",
		      "loads from address 0: an emulated SIGSEGV, "
		      "its expected end",
		      "(none)" },
	[WL_MALLOC] = { "malloc",
			"an allocation pattern through the emulated C "
			"library (malloc with a placement policy), every "
			"block's bytes verified",
			"one malloc, free, realloc or calloc of 16 B .. max "
			"(log-uniform), live bytes kept under size" },
	[WL_FILESCAN] = { "filescan",
			  "streams through a file of size bytes (made "
			  "and removed by the task), passes times, "
			  "checking every page: the cache polluter",
			  "one page of the file, in order, wrapping" },
	[WL_FILERW] = { "filerw",
			"random reads and writes through a shared "
			"mapping of a file (fork=N tasks, a slice "
			"each); the file is checked at the end",
			"one page of the task's slice, drawn uniformly" },
	[WL_SHM] = { "shm",
		     "shared anonymous memory: passes rounds of fork "
		     "children that check and write their slice, "
		     "slices rotating, the parent checks all",
		     "one page of a child's slice, drawn uniformly" },
};

enum key_type {
	K_SIZE,
	K_COUNT,
	K_RATIO,
	K_REAL,
	K_ADJ,
	K_NAME,
	K_SEED,
	K_POLICY
};

struct key {
	struct wl_key_info info;
	enum key_type type;
	size_t off;
};

#define KEY(n, a, t, f, m, h)                                  \
	{                                                      \
		{ n, a, h, m }, t, offsetof(struct wl_spec, f) \
	}

static const struct key keys[] = {
	KEY("size", "SIZE", K_SIZE, size, SIZED_KINDS,
	    "region size (K/M/G, KiB/MiB/GiB; rounded up to pages; malloc: "
	    "the most live bytes)"),
	KEY("ops", "N", K_COUNT, ops, SIZED_KINDS,
	    "accesses (0: passes x pages; malloc: allocator calls)"),
	KEY("passes", "N", K_COUNT, passes, REGION_KINDS,
	    "sweeps' worth of accesses (idle: write passes before sleeping)"),
	KEY("write", "R", K_RATIO, write, WRITE_KINDS,
	    "fraction of accesses that write, 0..1"),
	KEY("adj", "N", K_ADJ, adj, ALL_KINDS, "oom_score_adj, -1000..1000"),
	KEY("fork", "N", K_COUNT, fork, REGION_KINDS,
	    "children sharing the region copy-on-write, each running the "
	    "pattern with its own seed (forkstorm: per round)"),
	KEY("name", "NAME", K_NAME, name, ALL_KINDS,
	    "task name, up to 15 characters"),
	KEY("seed", "N", K_SEED, seed, ALL_KINDS,
	    "pattern seed (default: from --seed and the task's place)"),
	KEY("alpha", "X", K_REAL, alpha, BIT(WL_ZIPF), "Zipf exponent, > 0"),
	KEY("hot", "R", K_RATIO, hot, BIT(WL_HOTCOLD),
	    "hot fraction of the pages"),
	KEY("share", "R", K_RATIO, share, BIT(WL_HOTCOLD),
	    "fraction of accesses that go to hot pages"),
	KEY("ws", "R", K_RATIO, ws, BIT(WL_PHASES),
	    "working set, fraction of the pages"),
	KEY("period", "N", K_COUNT, period, BIT(WL_PHASES),
	    "ops per phase (0: 4 x working-set pages)"),
	KEY("k", "N", K_COUNT, stride, BIT(WL_STRIDE), "stride in pages"),
	KEY("chunk", "SIZE", K_SIZE, chunk, BIT(WL_HOG), "bytes per mmap step"),
	KEY("rounds", "N", K_COUNT, rounds, BIT(WL_FORKSTORM),
	    "rounds of forks"),
	KEY("sleep", "MS", K_COUNT, sleep_ms, BIT(WL_IDLE),
	    "milliseconds asleep; ops touches are spread over them"),
	KEY("delay", "MS", K_COUNT, delay_ms, ALL_KINDS,
	    "milliseconds the task waits before it starts"),
	KEY("policy", "NAME", K_POLICY, policy, BIT(WL_MALLOC),
	    "placement: first, next, best, worst or segregated (seg)"),
	KEY("max", "SIZE", K_SIZE, max_req, BIT(WL_MALLOC),
	    "largest request (>= 16; from 128K glibc's rule mmaps it)"),
	KEY("leak", "N", K_COUNT, leak, BIT(WL_MALLOC),
	    "blocks left allocated at exit, for the leak report to name"),
};

#define NR_KEYS (sizeof(keys) / sizeof(keys[0]))

const struct wl_kind_info *wl_kind_info(enum wl_kind kind)
{
	return kind < WL_NR_KINDS ? &kinds[kind] : NULL;
}

const struct wl_key_info *wl_keys(size_t *n)
{
	static struct wl_key_info info[NR_KEYS];

	for (size_t i = 0; i < NR_KEYS; i++)
		info[i] = keys[i].info;
	*n = NR_KEYS;
	return info;
}

void wl_spec_init(struct wl_spec *s, enum wl_kind kind)
{
	memset(s, 0, sizeof(*s));
	s->kind = kind;
	snprintf(s->name, sizeof(s->name), "%s", kinds[kind].name);
	s->size = 4 * MB;
	s->passes = 2;
	s->write = 0.3;
	s->alpha = 0.99;
	s->hot = 0.1;
	s->share = 0.9;
	s->ws = 0.25;
	s->stride = 16;
	s->chunk = MB;
	s->rounds = 4;
	s->sleep_ms = 2000;
	if (kind == WL_HOG || kind == WL_FORKSTORM || kind == WL_IDLE ||
	    kind == WL_ZERO)
		s->passes = 1;
	if (kind == WL_HOG)
		s->size = 0;
	if (kind == WL_FORKSTORM) {
		s->fork = 2;
		s->write = 0.5;
		s->size = 2 * MB;
	}
	if (kind == WL_IDLE) {
		s->ops = 8;
		s->size = 2 * MB;
	}
	if (kind == WL_ZERO || kind == WL_FILESCAN)
		s->write = 0;
	if (kind == WL_MALLOC) {
		s->ops = 20000;
		s->max_req = 256 * KB;
		s->policy = UMALLOC_FIRST_FIT;
	}
	if (kind == WL_FILESCAN)
		s->size = 64 * MB;
	if (kind == WL_FILERW)
		s->size = 16 * MB;
	if (kind == WL_SHM) {
		s->fork = 2;
		s->write = 0.5;
	}
}

/* A whole decimal number: 0, or -EINVAL. */
static int parse_u64(const char *text, uint64_t *out)
{
	char *end;

	if (*text < '0' || *text > '9')
		return -EINVAL;
	errno = 0;
	*out = strtoull(text, &end, 10);
	return errno || *end ? -EINVAL : 0;
}

static const struct {
	const char *suffix;
	unsigned shift;
} size_suffixes[] = {
	{ "", 0 },   { "K", 10 },   { "k", 10 },   { "KiB", 10 },
	{ "M", 20 }, { "m", 20 },   { "MiB", 20 }, { "G", 30 },
	{ "g", 30 }, { "GiB", 30 }, { "T", 40 },   { "TiB", 40 },
};

int wl_parse_size(const char *text, uint64_t *bytes)
{
	char *end;
	unsigned long long v;

	if (!text || *text < '0' || *text > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(text, &end, 10);
	if (errno)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(size_suffixes) / sizeof(size_suffixes[0]);
	     i++) {
		unsigned sh = size_suffixes[i].shift;

		if (strcmp(end, size_suffixes[i].suffix) != 0)
			continue;
		if (sh && v > (~0ULL >> sh))
			return -EINVAL;
		*bytes = (uint64_t)v << sh;
		return 0;
	}
	return -EINVAL;
}

static int parse_real(const char *text, double *out)
{
	char *end;

	if (!*text)
		return -EINVAL;
	errno = 0;
	*out = strtod(text, &end);
	return errno || *end || !isfinite(*out) ? -EINVAL : 0;
}

static void say(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (!err || !len)
		return;
	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
}

static const char *type_words(enum key_type t)
{
	switch (t) {
	case K_SIZE:
		return "a size (a number with K, M, G, KiB, MiB or GiB)";
	case K_COUNT:
	case K_SEED:
		return "a whole number";
	case K_RATIO:
		return "a number from 0 to 1";
	case K_REAL:
		return "a positive number";
	case K_ADJ:
		return "a whole number from -1000 to 1000";
	case K_NAME:
		return "a name of 1 to 15 characters";
	case K_POLICY:
		return "first, next, best, worst or segregated";
	}
	return "valid";
}

static int set_count(struct wl_spec *s, const struct key *k, const char *val)
{
	uint64_t n;

	if (k->off != offsetof(struct wl_spec, fork))
		return parse_u64(val, (uint64_t *)(void *)((char *)s + k->off));
	if (parse_u64(val, &n) < 0 || n > SPEC_MAX_FORK)
		return -EINVAL;
	s->fork = (unsigned)n;
	return 0;
}

static int set_adj(struct wl_spec *s, const char *val)
{
	char *end;
	long adj;

	errno = 0;
	adj = strtol(val, &end, 10);
	if (!*val || errno || *end || adj < ADJ_MIN || adj > ADJ_MAX)
		return -EINVAL;
	s->adj = (int)adj;
	return 0;
}

static int set_policy(struct wl_spec *s, const char *val)
{
	enum umalloc_policy p;

	if (strcmp(val, "segregated") == 0)
		val = "seg";
	if (umalloc_policy_parse(val, &p) < 0)
		return -EINVAL;
	s->policy = (int)p;
	return 0;
}

/* Store val into the field of key k; 0 or -EINVAL. */
static int set_key(struct wl_spec *s, const struct key *k, const char *val)
{
	char *field = (char *)s + k->off;
	double d;

	switch (k->type) {
	case K_SIZE:
		return wl_parse_size(val, (uint64_t *)(void *)field);
	case K_SEED:
		s->seed_set = true;
		return parse_u64(val, (uint64_t *)(void *)field);
	case K_COUNT:
		return set_count(s, k, val);
	case K_RATIO:
	case K_REAL:
		if (parse_real(val, &d) < 0 || d < 0 ||
		    (k->type == K_RATIO && d > 1) ||
		    (k->type == K_REAL && d <= 0))
			return -EINVAL;
		*(double *)(void *)field = d;
		return 0;
	case K_ADJ:
		return set_adj(s, val);
	case K_NAME:
		if (!*val || strlen(val) >= WL_NAME_LEN)
			return -EINVAL;
		memcpy(s->name, val, strlen(val) + 1);
		return 0;
	case K_POLICY:
		return set_policy(s, val);
	}
	return -EINVAL;
}

static const struct key *find_key(const char *name, size_t len)
{
	for (size_t i = 0; i < NR_KEYS; i++)
		if (strlen(keys[i].info.name) == len &&
		    strncmp(keys[i].info.name, name, len) == 0)
			return &keys[i];
	return NULL;
}

/* One "key=val" (len bytes at item) of a kind-kind spec. */
static int parse_item(struct wl_spec *s, const char *item, size_t len,
		      char *err, size_t errlen)
{
	const char *eq = memchr(item, '=', len);
	const char *kname = kinds[s->kind].name;
	const struct key *k = eq ? find_key(item, (size_t)(eq - item)) : NULL;
	char val[64];

	if (!eq) {
		say(err, errlen, "workload '%s': '%.*s' is not key=value",
		    kname, (int)len, item);
		return -EINVAL;
	}
	if (!k || !(k->info.kinds & BIT(s->kind))) {
		say(err, errlen, "workload '%s' has no key '%.*s'", kname,
		    (int)(eq - item), item);
		return -EINVAL;
	}
	snprintf(val, sizeof(val), "%.*s", (int)(len - (size_t)(eq + 1 - item)),
		 eq + 1);
	if ((size_t)(len - (size_t)(eq + 1 - item)) >= sizeof(val) ||
	    set_key(s, k, val) < 0) {
		say(err, errlen, "workload '%s': %s '%s' is not %s", kname,
		    k->info.name, val, type_words(k->type));
		return -EINVAL;
	}
	return 0;
}

static uint64_t round_pages(uint64_t bytes)
{
	uint64_t rem = bytes % VM_PAGE_SIZE;

	return rem ? bytes + (VM_PAGE_SIZE - rem) : bytes;
}

/* Whole-spec checks after the keys; 0 or -EINVAL. */
static int check_spec(struct wl_spec *s, char *err, size_t errlen)
{
	const char *kname = kinds[s->kind].name;

	if (s->size > UINT64_MAX - VM_PAGE_SIZE ||
	    s->chunk > UINT64_MAX - VM_PAGE_SIZE) {
		say(err, errlen, "workload '%s': size is too large", kname);
		return -EINVAL;
	}
	if (s->kind == WL_MALLOC && s->max_req < MIN_REQUEST) {
		say(err, errlen, "workload 'malloc': max must be at least %d",
		    MIN_REQUEST);
		return -EINVAL;
	}
	s->size = round_pages(s->size);
	s->chunk = round_pages(s->chunk);
	if (s->kind != WL_SEGV && s->kind != WL_HOG && s->size == 0) {
		say(err, errlen, "workload '%s': size must be at least 4K",
		    kname);
		return -EINVAL;
	}
	if (s->chunk == 0 || s->stride == 0) {
		say(err, errlen, "workload '%s': %s must be positive", kname,
		    s->chunk ? "k" : "chunk");
		return -EINVAL;
	}
	if (s->ws == 0 ||
	    (s->kind == WL_HOTCOLD && (s->hot == 0 || s->hot == 1))) {
		say(err, errlen,
		    "workload '%s': %s must be between 0 and 1 "
		    "(exclusive)",
		    kname, s->ws == 0 ? "ws" : "hot");
		return -EINVAL;
	}
	return 0;
}

static int parse_kind(const char *text, size_t len, enum wl_kind *kind)
{
	for (int k = 0; k < WL_NR_KINDS; k++)
		if (strlen(kinds[k].name) == len &&
		    strncmp(kinds[k].name, text, len) == 0) {
			*kind = (enum wl_kind)k;
			return 0;
		}
	return -EINVAL;
}

int wl_spec_parse(const char *text, struct wl_spec *s, char *err, size_t errlen)
{
	size_t klen = strcspn(text, ":");
	enum wl_kind kind;
	const char *p = text + klen;

	if (parse_kind(text, klen, &kind) < 0) {
		say(err, errlen,
		    "unknown workload '%.*s' (see vmemu run --help)", (int)klen,
		    text);
		return -EINVAL;
	}
	wl_spec_init(s, kind);
	while (*p) {
		size_t len;

		p++; /* ':' or ',' */
		len = strcspn(p, ",");
		if (parse_item(s, p, len, err, errlen) < 0)
			return -EINVAL;
		p += len;
	}
	return check_spec(s, err, errlen);
}

/* 4M, 256K or a number of bytes. */
static void size_text(uint64_t v, char *buf, size_t len)
{
	if (v && v % MB == 0)
		snprintf(buf, len, "%lluM", (unsigned long long)(v / MB));
	else if (v && v % KB == 0)
		snprintf(buf, len, "%lluK", (unsigned long long)(v / KB));
	else
		snprintf(buf, len, "%llu", (unsigned long long)v);
}

void wl_spec_value(const struct wl_spec *s, const char *name, char *buf,
		   size_t len)
{
	const struct key *k = find_key(name, strlen(name));
	const char *field = k ? (const char *)s + k->off : NULL;

	if (!k || !(k->info.kinds & BIT(s->kind)))
		snprintf(buf, len, "%s", "");
	else if (k->type == K_RATIO || k->type == K_REAL)
		snprintf(buf, len, "%g", *(const double *)(const void *)field);
	else if (k->type == K_ADJ)
		snprintf(buf, len, "%d", s->adj);
	else if (k->type == K_NAME)
		snprintf(buf, len, "%s", s->name);
	else if (k->type == K_POLICY)
		snprintf(buf, len, "%s",
			 s->policy == UMALLOC_SEGREGATED ?
				 "segregated" :
				 umalloc_policy_name(
					 (enum umalloc_policy)s->policy));
	else if (k->off == offsetof(struct wl_spec, fork))
		snprintf(buf, len, "%u", s->fork);
	else if (k->type == K_SEED && !s->seed_set)
		snprintf(buf, len, "%s", "auto");
	else if (k->type == K_SIZE)
		size_text(*(const uint64_t *)(const void *)field, buf, len);
	else
		snprintf(buf, len, "%llu",
			 (unsigned long long)*(
				 const uint64_t *)(const void *)field);
}
