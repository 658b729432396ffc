/* SPDX-License-Identifier: GPL-2.0 */
/* Prototypes of kapi/inline_helpers.c; the Rust side declares them in kapi/. */
#ifndef TSFS_INLINE_HELPERS_H
#define TSFS_INLINE_HELPERS_H

#include <linux/mm_types.h>
#include <linux/time64.h>
#include <linux/types.h>

struct lockdep_map;
struct lock_class_key;
struct iov_iter;
struct mm_struct;
struct vm_area_struct;
struct address_space;
struct path;

void tsfs_lockdep_init_map(struct lockdep_map *map, const char *name,
			   struct lock_class_key *key);
unsigned long tsfs_caller_ip(void);
void tsfs_lock_acquire(struct lockdep_map *map, unsigned int subclass,
		       int trylock, int read, unsigned long ip);
void tsfs_lock_release(struct lockdep_map *map, unsigned long ip);
void tsfs_lock_contended(struct lockdep_map *map, unsigned long ip);
void tsfs_lock_acquired(struct lockdep_map *map, unsigned long ip);
void tsfs_warn(const char *msg);
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

struct address_space;
struct path;
struct buffer_head;
struct dentry;
struct dir_context;
struct file;
struct fs_context;
struct inode;
struct kiocb;
struct super_block;
struct block_device;
struct timespec64;

struct buffer_head *tsfs_sb_bread(struct super_block *sb, sector_t block);
struct buffer_head *tsfs_sb_getblk(struct super_block *sb, sector_t block);
struct buffer_head *tsfs_sb_find_get_block(struct super_block *sb, sector_t block);
void tsfs_lock_buffer(struct buffer_head *bh);
void tsfs_set_buffer_uptodate(struct buffer_head *bh);
void tsfs_clear_buffer_dirty(struct buffer_head *bh);
unsigned int tsfs_memalloc_nofs_save(void);
void tsfs_memalloc_nofs_restore(unsigned int flags);
loff_t tsfs_bdev_nr_bytes(struct block_device *bdev);
bool tsfs_sb_rdonly(const struct super_block *sb);
bool tsfs_fc_wants_rdonly(const struct fs_context *fc);
void tsfs_super_set_uuid(struct super_block *sb, const u8 *uuid, unsigned int len);
void tsfs_sb_start_pagefault(struct super_block *sb);
void tsfs_sb_end_pagefault(struct super_block *sb);
bool tsfs_inode_is_new(const struct inode *inode);
loff_t tsfs_i_size_read(const struct inode *inode);
void tsfs_i_size_write(struct inode *inode, loff_t size);
uid_t tsfs_i_uid_read(const struct inode *inode);
gid_t tsfs_i_gid_read(const struct inode *inode);
void tsfs_i_uid_write(struct inode *inode, uid_t uid);
void tsfs_i_gid_write(struct inode *inode, gid_t gid);
struct timespec64 tsfs_inode_get_atime(const struct inode *inode);
struct timespec64 tsfs_inode_get_mtime(const struct inode *inode);
struct timespec64 tsfs_inode_get_ctime(const struct inode *inode);
void tsfs_inode_set_atime(struct inode *inode, struct timespec64 ts);
void tsfs_inode_set_mtime(struct inode *inode, struct timespec64 ts);
void tsfs_inode_set_ctime(struct inode *inode, struct timespec64 ts);
void tsfs_mark_inode_dirty(struct inode *inode);
void tsfs_inode_lock(struct inode *inode);
void tsfs_inode_unlock(struct inode *inode);
void tsfs_filemap_invalidate_lock(struct address_space *mapping);
void tsfs_filemap_invalidate_unlock(struct address_space *mapping);
struct inode *tsfs_d_inode(const struct dentry *dentry);
struct inode *tsfs_file_inode(const struct file *file);
void tsfs_file_accessed(struct file *file);
ssize_t tsfs_generic_write_sync(struct kiocb *iocb, ssize_t count);
bool tsfs_dir_emit(struct dir_context *ctx, const char *name, int len, u64 ino,
		   unsigned int type);
bool tsfs_dir_emit_dots(struct file *file, struct dir_context *ctx);

bool tsfs_iocb_is_nowait(const struct kiocb *iocb);
bool tsfs_iocb_is_append(const struct kiocb *iocb);
bool tsfs_iocb_is_async(struct kiocb *iocb);
bool tsfs_iocb_is_dsync(const struct kiocb *iocb);
void tsfs_iocb_no_caller_comp(struct kiocb *iocb);
bool tsfs_mmap_read_trylock(struct mm_struct *mm);

void tsfs_file_allow_direct(struct file *file);
bool tsfs_inode_trylock(struct inode *inode);
void tsfs_inode_lock_shared(struct inode *inode);
bool tsfs_inode_trylock_shared(struct inode *inode);
void tsfs_inode_unlock_shared(struct inode *inode);
unsigned int tsfs_bdev_logical_block_size(struct block_device *bdev);
unsigned int tsfs_bdev_dma_alignment(struct block_device *bdev);
struct inode *tsfs_path_inode(const struct path *path);

#endif
