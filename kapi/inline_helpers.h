/* SPDX-License-Identifier: GPL-2.0 */
/* Prototypes of kapi/inline_helpers.c; the Rust side declares them in kapi/. */
#ifndef TSFS_INLINE_HELPERS_H
#define TSFS_INLINE_HELPERS_H

#include <linux/types.h>

struct lockdep_map;
struct lock_class_key;
struct iov_iter;
struct mm_struct;
struct vm_area_struct;
struct address_space;

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

size_t tsfs_iov_iter_count(const struct iov_iter *i);
bool tsfs_user_backed_iter(const struct iov_iter *i);
unsigned long tsfs_iter_iov_addr(const struct iov_iter *i);
size_t tsfs_iter_iov_len(const struct iov_iter *i);
void tsfs_iov_iter_truncate(struct iov_iter *i, size_t count);
void tsfs_iov_iter_reexpand(struct iov_iter *i, size_t count);
struct mm_struct *tsfs_current_mm(void);
void tsfs_mmap_read_lock(struct mm_struct *mm);
void tsfs_mmap_read_unlock(struct mm_struct *mm);
unsigned long tsfs_vma_start(const struct vm_area_struct *vma);
unsigned long tsfs_vma_end(const struct vm_area_struct *vma);
unsigned long tsfs_vma_pgoff(const struct vm_area_struct *vma);
struct address_space *tsfs_vma_mapping(const struct vm_area_struct *vma);

#endif
