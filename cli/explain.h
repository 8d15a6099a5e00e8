/*
 * cli/explain.h - `vmemu explain`: what its files share.
 *
 * A topic runs a short guided scenario on an emulated machine and records
 * what happened as a document of facts (struct ex_doc): a tree of named
 * values, each with a JSON key, a label for people and a flag when the
 * fact is emulator-only (no Linux counterpart).  Prose and figures ride
 * along for the text form only.  The same tree prints as 80-column text
 * or as JSON (--json), so the two cannot disagree: every number in either
 * comes from the tree, and every number in the tree from the emulator's
 * state (vm_stat, vm_walk, vm_vmas, vm_task_info, umalloc_stats, ...).
 *
 *   topic table (explain.c) --run--> topic (explain_<topic>.c)
 *        |                               | ex_obj/ex_uint/ex_para...
 *        v                               v
 *   ex_print_text / ex_print_json <-- struct ex_doc (explain_out.c)
 *
 * A topic ends with ex_query: the `vmemu query` that shows more in the
 * run's event log.  Adding a topic is one file and one line of the table.
 *
 * Threads: a document is built by one thread at a time (a topic's task
 * thread while the main thread waits for it; tasks that hand over to
 * each other by semaphores).  Host memory running out ends vmemu with
 * one line (cli tools may; the library never does).
 */
#ifndef VMEMU_CLI_EXPLAIN_H
#define VMEMU_CLI_EXPLAIN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "vm/vm.h"

#define EX_EMU		  0x1u /* emulator-only: marked '*' in text */
#define EX_JSON_ONLY	  0x2u /* left out of the text (ex_json_only) */
#define EX_DEPTH	  8    /* nesting of objects and arrays */
#define EX_WIDTH	  80   /* text columns */
#define ARRAY_SIZE_CLI(a) (sizeof(a) / sizeof((a)[0]))

struct ex_node;

struct ex_doc {
	struct ex_node *root;
	struct ex_node *stack[EX_DEPTH]; /* open objects/arrays */
	int depth;
};

/* A document for topic (its root object holds "topic" and "title"). */
void ex_doc_init(struct ex_doc *d, const char *topic, const char *title);
void ex_doc_free(struct ex_doc *d);
/* Close every open object and array (after a task left in mid-way). */
void ex_reset(struct ex_doc *d);

/* Open an object or array as a child of the open one; ex_end closes it.
 * Inside an array, key is ignored (elements have none). */
void ex_obj(struct ex_doc *d, const char *key, const char *label);
void ex_arr(struct ex_doc *d, const char *key, const char *label);
void ex_end(struct ex_doc *d);
/* The open object or array (not a table's row or cell) goes to the JSON
 * only: for per-step data the text draws as a figure (ex_pre). */
void ex_json_only(struct ex_doc *d);

/* Facts.  key: [a-z0-9_]+ (JSON); label: what text shows (NULL: key). */
void ex_uint(struct ex_doc *d, const char *key, const char *label, uint64_t v,
	     unsigned flags);
void ex_int(struct ex_doc *d, const char *key, const char *label, int64_t v,
	    unsigned flags);
void ex_hex(struct ex_doc *d, const char *key, const char *label, uint64_t v,
	    unsigned flags);
void ex_bytes(struct ex_doc *d, const char *key, const char *label, uint64_t v,
	      unsigned flags);
void ex_bool(struct ex_doc *d, const char *key, const char *label, bool v,
	     unsigned flags);
void ex_str(struct ex_doc *d, const char *key, const char *label,
	    unsigned flags, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
/* Text only: a paragraph (wrapped) or a preformatted block (as is). */
void ex_para(struct ex_doc *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void ex_pre(struct ex_doc *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* The closing `vmemu query LOG "sql"` (a fact: "query"). */
void ex_query(struct ex_doc *d, const char *log, const char *sql);

int ex_print_text(FILE *out, const struct ex_doc *d);
int ex_print_json(FILE *out, const struct ex_doc *d);

/* ---- running topics (explain.c) ----------------------------------------- */

struct ex_ctx {
	struct ex_doc doc;
	const char *log; /* event log path, or NULL (--no-log) */
	const char *cmdline;
	int argc; /* the topic's own arguments */
	char **argv;
};

/*
 * The machine a topic runs on: trace mode, 64 MiB of RAM, 16 MiB of
 * swap, no kswapd (repeatable), the log at c->log.  NULL after printing
 * why (the caller exits CLI_EXIT_FAIL).
 */
struct vm *ex_machine(struct ex_ctx *c);
/* ex_machine in two steps, for a topic that changes the config: the
 * defaults above, then vm_create (NULL after printing why). */
void ex_config(struct ex_ctx *c, struct vm_config *cfg);
struct vm *ex_machine_cfg(const struct vm_config *cfg);
/* vm_destroy, then the log's error if any (printed): 0 or -1. */
int ex_machine_done(struct vm *vm);
/* Spawn fn on vm and wait for it; 0, or -1 after printing why. */
int ex_run_task(struct vm *vm, const char *name, vm_task_fn fn, void *arg,
		struct vm_exit *ex);

/* Topics: build c->doc; CLI_EXIT_OK, _USAGE or _FAIL (printed). */
int ex_topic_translate(struct ex_ctx *c);
int ex_topic_malloc(struct ex_ctx *c);
int ex_topic_fork(struct ex_ctx *c);
int ex_topic_segmentation(struct ex_ctx *c);
int ex_topic_oom(struct ex_ctx *c);
int ex_topic_replacement(struct ex_ctx *c);
int ex_topic_fragmentation(struct ex_ctx *c);
int ex_topic_reclaim(struct ex_ctx *c);

/* Shared figures: a vm_walk as a table, a task's VMAs. */
void ex_walk_table(struct ex_doc *d, const char *key, const struct vm_walk *w);
void ex_vmas(struct ex_doc *d, struct vm *vm, int pid, const char *key,
	     const char *label);
/* "P W U A D" style names of a PTE's bits. */
void ex_pte_bits(uint64_t pte, char *buf, size_t len);
/* The state of a walk's leaf in Linux's words ("present", "swap entry"). */
const char *ex_pte_state(enum vm_pte_state s);

#endif /* VMEMU_CLI_EXPLAIN_H */
