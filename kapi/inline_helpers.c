// SPDX-License-Identifier: GPL-2.0
/*
 * One-line wrappers that expose static inline functions and macros to tsfs's
 * Rust code (the same practice as the kernel's rust/helpers/). No logic here.
 * The lockdep wrappers compile to nothing when lockdep is off, and take the
 * caller's address (_RET_IP_) for lockdep's "at:" lines.
 */
#include <linux/lockdep.h>
#include <linux/sched/signal.h>

#include "inline_helpers.h"

void tsfs_lockdep_init_map(struct lockdep_map *map, const char *name,
			   struct lock_class_key *key)
{
	lockdep_init_map_wait(map, name, key, 0, LD_WAIT_SLEEP);
}

void tsfs_lock_acquire_shared(struct lockdep_map *map, int trylock)
{
	lock_acquire_shared(map, 0, trylock, NULL, _RET_IP_);
}

void tsfs_lock_acquire_shared_recursive(struct lockdep_map *map)
{
	lock_acquire_shared_recursive(map, 0, 0, NULL, _RET_IP_);
}

void tsfs_lock_release(struct lockdep_map *map)
{
	lock_release(map, _RET_IP_);
}

void tsfs_lock_contended(struct lockdep_map *map)
{
	lock_contended(map, _RET_IP_);
}

void tsfs_lock_acquired(struct lockdep_map *map)
{
	lock_acquired(map, _RET_IP_);
}

bool tsfs_fatal_signal_pending(void)
{
	return fatal_signal_pending(current);
}

void tsfs_allow_sigkill(void)
{
	allow_signal(SIGKILL);
}

void tsfs_cond_resched(void)
{
	cond_resched();
}

void tsfs_might_sleep(void)
{
	might_sleep();
}
