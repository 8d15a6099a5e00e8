/*
 * vm/vmlog.h - the machine's side of the event log (vm/evlog.h is the
 * engine): opening it with this machine's kinds and counters, the
 * periodic vmstat/psi samples, the tasks rows.  See vmlog.c.
 */
#ifndef VMEMU_VMLOG_H
#define VMEMU_VMLOG_H

#include <stddef.h>

#include "vm/machine.h"

/* Open vm_config.log_path (nothing when NULL); 0 or -errno + message. */
int vmlog_open(struct vm *vm, char *err, size_t errlen);
/* The final sample, then close; 0 or the log's first error. */
int vmlog_close(struct vm *vm, char *err, size_t errlen);
/* One vmstat row and one psi row (service thread; lock NOT held). */
void vmlog_sample(struct vm *vm);
/* A task's row: at its start, completed at its exit (lock NOT held). */
void vmlog_task_start(struct vm *vm, const struct vm_task *t);
void vmlog_task_exit(struct vm *vm, const struct vm_task *t);
/* SIGSAFE.  The log's kind number of an event. */
unsigned vmlog_kind(enum vm_event e);

#endif /* VMEMU_VMLOG_H */
