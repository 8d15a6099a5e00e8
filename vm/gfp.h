/*
 * vm/gfp.h - how hard an allocation of frames may try (Linux's gfp_t, the
 * few bits vmemu needs).  No dependencies.
 *
 *   GFP_USER / GFP_KERNEL  an ordinary allocation: it must leave the min
 *                          watermark free.  Failing, the caller reclaims
 *                          and retries (a fault), or returns -ENOMEM.
 *   __GFP_HIGH             may dip below min, down to min/2: the small
 *                          reserve for kernel objects a fault needs to
 *                          finish (page tables, rmap items, VMAs), as
 *                          Linux's GFP_ATOMIC reserve (ALLOC_HIGH).
 *   __GFP_MEMALLOC         ignores the watermarks: reclaim's own needs
 *                          (Linux's PF_MEMALLOC / ALLOC_NO_WATERMARKS).
 *   __GFP_NORETRY          opportunistic (fault-around): fail at once,
 *                          never reclaim, never call the OOM killer.
 */
#ifndef VMEMU_GFP_H
#define VMEMU_GFP_H

typedef unsigned gfp_t;

#define __GFP_HIGH     (1u << 0)
#define __GFP_MEMALLOC (1u << 1)
#define __GFP_NORETRY  (1u << 2)

#define GFP_USER       0u
#define GFP_KERNEL     0u
#define GFP_FAULT_META __GFP_HIGH /* page tables, rmap items, VMAs */

#endif /* VMEMU_GFP_H */
