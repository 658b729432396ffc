/* SPDX-License-Identifier: GPL-2.0 */
/* Prototypes of kapi/inline_helpers.c; the Rust side declares them in kapi/. */
#ifndef TSFS_INLINE_HELPERS_H
#define TSFS_INLINE_HELPERS_H

#include <linux/types.h>

struct lockdep_map;
struct lock_class_key;

void tsfs_lockdep_init_map(struct lockdep_map *map, const char *name,
			   struct lock_class_key *key);
void tsfs_lock_acquire_shared(struct lockdep_map *map, int trylock);
void tsfs_lock_acquire_shared_recursive(struct lockdep_map *map);
void tsfs_lock_release(struct lockdep_map *map);
void tsfs_lock_contended(struct lockdep_map *map);
void tsfs_lock_acquired(struct lockdep_map *map);
bool tsfs_fatal_signal_pending(void);
void tsfs_allow_sigkill(void);
void tsfs_cond_resched(void);
void tsfs_might_sleep(void);

#endif
