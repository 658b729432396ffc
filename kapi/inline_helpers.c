// SPDX-License-Identifier: GPL-2.0
/*
 * One-line wrappers that expose static inline functions and macros to tsfs's
 * Rust code (the same practice as the kernel's rust/helpers/). No logic here.
 * The lockdep wrappers compile to nothing when lockdep is off, and take the
 * caller's address (_RET_IP_) for lockdep's "at:" lines.
 */
#include <linux/lockdep.h>
#include <linux/mm.h>
#include <linux/uio.h>
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

/* iov_iter accessors, for the DIO path's look at its user buffer. */
size_t tsfs_iov_iter_count(const struct iov_iter *i)
{
	return iov_iter_count(i);
}

bool tsfs_user_backed_iter(const struct iov_iter *i)
{
	return user_backed_iter(i);
}

unsigned long tsfs_iter_iov_addr(const struct iov_iter *i)
{
	return (unsigned long)iter_iov_addr(i);
}

size_t tsfs_iter_iov_len(const struct iov_iter *i)
{
	return iter_iov_len(i);
}

void tsfs_iov_iter_truncate(struct iov_iter *i, size_t count)
{
	iov_iter_truncate(i, count);
}

void tsfs_iov_iter_reexpand(struct iov_iter *i, size_t count)
{
	iov_iter_reexpand(i, count);
}

/* The current task's address space and its VMAs. */
struct mm_struct *tsfs_current_mm(void)
{
	return current->mm;
}

void tsfs_mmap_read_lock(struct mm_struct *mm)
{
	mmap_read_lock(mm);
}

void tsfs_mmap_read_unlock(struct mm_struct *mm)
{
	mmap_read_unlock(mm);
}

unsigned long tsfs_vma_start(const struct vm_area_struct *vma)
{
	return vma->vm_start;
}

unsigned long tsfs_vma_end(const struct vm_area_struct *vma)
{
	return vma->vm_end;
}

unsigned long tsfs_vma_pgoff(const struct vm_area_struct *vma)
{
	return vma->vm_pgoff;
}

struct address_space *tsfs_vma_mapping(const struct vm_area_struct *vma)
{
	return vma->vm_file ? vma->vm_file->f_mapping : NULL;
}
