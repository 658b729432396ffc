// SPDX-License-Identifier: GPL-2.0
/*
 * One-line wrappers that expose static inline functions and macros to tsfs's
 * Rust code (the same practice as the kernel's rust/helpers/). No logic here.
 * The lockdep wrappers compile to nothing when lockdep is off, and take the
 * address to report in lockdep's "at:" lines from the caller (tsfs_caller_ip()).
 */
#include <linux/blkdev.h>
#include <linux/buffer_head.h>
#include <linux/fs.h>
#include <linux/fs_context.h>
#include <linux/lockdep.h>
#include <linux/mm.h>
#include <linux/pagemap.h>
#include <linux/sched/mm.h>
#include <linux/uio.h>
#include <linux/sched/signal.h>

#include "inline_helpers.h"

void tsfs_lockdep_init_map(struct lockdep_map *map, const char *name,
			   struct lock_class_key *key)
{
	lockdep_init_map_wait(map, name, key, 0, LD_WAIT_SLEEP);
}

unsigned long tsfs_caller_ip(void)
{
	return _RET_IP_;
}

void tsfs_lock_acquire(struct lockdep_map *map, unsigned int subclass,
		       int trylock, int read, unsigned long ip)
{
	lock_acquire(map, subclass, trylock, read, 1, NULL, ip);
}

void tsfs_lock_release(struct lockdep_map *map, unsigned long ip)
{
	lock_release(map, ip);
}

void tsfs_lock_contended(struct lockdep_map *map, unsigned long ip)
{
	lock_contended(map, ip);
}

void tsfs_lock_acquired(struct lockdep_map *map, unsigned long ip)
{
	lock_acquired(map, ip);
}

void tsfs_warn(const char *msg)
{
	WARN(1, "%s\n", msg);
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

/* Block buffers (kapi/buffer.rs). */

struct buffer_head *tsfs_sb_bread(struct super_block *sb, sector_t block)
{
	return sb_bread(sb, block);
}

struct buffer_head *tsfs_sb_getblk(struct super_block *sb, sector_t block)
{
	return sb_getblk(sb, block);
}

struct buffer_head *tsfs_sb_find_get_block(struct super_block *sb, sector_t block)
{
	return sb_find_get_block(sb, block);
}

void tsfs_lock_buffer(struct buffer_head *bh)
{
	lock_buffer(bh);
}

void tsfs_set_buffer_uptodate(struct buffer_head *bh)
{
	set_buffer_uptodate(bh);
}

void tsfs_clear_buffer_dirty(struct buffer_head *bh)
{
	clear_buffer_dirty(bh);
}

/* Memory allocation scope (kapi/mem.rs). */

unsigned int tsfs_memalloc_nofs_save(void)
{
	return memalloc_nofs_save();
}

void tsfs_memalloc_nofs_restore(unsigned int flags)
{
	memalloc_nofs_restore(flags);
}

/* Super blocks and file system contexts (kapi/vfs/). */

loff_t tsfs_bdev_nr_bytes(struct block_device *bdev)
{
	return bdev_nr_bytes(bdev);
}

bool tsfs_sb_rdonly(const struct super_block *sb)
{
	return sb_rdonly(sb);
}

bool tsfs_fc_wants_rdonly(const struct fs_context *fc)
{
	return fc->sb_flags & SB_RDONLY;
}

void tsfs_super_set_uuid(struct super_block *sb, const u8 *uuid, unsigned int len)
{
	super_set_uuid(sb, uuid, len);
}

void tsfs_sb_start_pagefault(struct super_block *sb)
{
	sb_start_pagefault(sb);
}

void tsfs_sb_end_pagefault(struct super_block *sb)
{
	sb_end_pagefault(sb);
}

/* Inodes (kapi/vfs/inode.rs). */

bool tsfs_inode_is_new(const struct inode *inode)
{
	return inode->i_state & I_NEW;
}

loff_t tsfs_i_size_read(const struct inode *inode)
{
	return i_size_read(inode);
}

void tsfs_i_size_write(struct inode *inode, loff_t size)
{
	i_size_write(inode, size);
}

uid_t tsfs_i_uid_read(const struct inode *inode)
{
	return i_uid_read(inode);
}

gid_t tsfs_i_gid_read(const struct inode *inode)
{
	return i_gid_read(inode);
}

void tsfs_i_uid_write(struct inode *inode, uid_t uid)
{
	i_uid_write(inode, uid);
}

void tsfs_i_gid_write(struct inode *inode, gid_t gid)
{
	i_gid_write(inode, gid);
}

struct timespec64 tsfs_inode_get_atime(const struct inode *inode)
{
	return inode_get_atime(inode);
}

struct timespec64 tsfs_inode_get_mtime(const struct inode *inode)
{
	return inode_get_mtime(inode);
}

struct timespec64 tsfs_inode_get_ctime(const struct inode *inode)
{
	return inode_get_ctime(inode);
}

void tsfs_inode_set_atime(struct inode *inode, struct timespec64 ts)
{
	inode_set_atime_to_ts(inode, ts);
}

void tsfs_inode_set_mtime(struct inode *inode, struct timespec64 ts)
{
	inode_set_mtime_to_ts(inode, ts);
}

void tsfs_inode_set_ctime(struct inode *inode, struct timespec64 ts)
{
	inode_set_ctime_to_ts(inode, ts);
}

void tsfs_mark_inode_dirty(struct inode *inode)
{
	mark_inode_dirty(inode);
}

void tsfs_inode_lock(struct inode *inode)
{
	inode_lock(inode);
}

void tsfs_inode_unlock(struct inode *inode)
{
	inode_unlock(inode);
}

void tsfs_filemap_invalidate_lock(struct address_space *mapping)
{
	filemap_invalidate_lock(mapping);
}

void tsfs_filemap_invalidate_unlock(struct address_space *mapping)
{
	filemap_invalidate_unlock(mapping);
}

struct inode *tsfs_d_inode(const struct dentry *dentry)
{
	return d_inode(dentry);
}

/* Files, directories and mappings (kapi/vfs/). */

struct inode *tsfs_file_inode(const struct file *file)
{
	return file_inode(file);
}

void tsfs_file_accessed(struct file *file)
{
	file_accessed(file);
}

ssize_t tsfs_generic_write_sync(struct kiocb *iocb, ssize_t count)
{
	return generic_write_sync(iocb, count);
}

bool tsfs_dir_emit(struct dir_context *ctx, const char *name, int len, u64 ino,
		   unsigned int type)
{
	return dir_emit(ctx, name, len, ino, type);
}

bool tsfs_dir_emit_dots(struct file *file, struct dir_context *ctx)
{
	return dir_emit_dots(file, ctx);
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

/* Direct IO requests. */
bool tsfs_iocb_is_nowait(const struct kiocb *iocb)
{
	return iocb->ki_flags & IOCB_NOWAIT;
}

void tsfs_file_allow_direct(struct file *file)
{
	file->f_mode |= FMODE_CAN_ODIRECT | FMODE_NOWAIT;
}

bool tsfs_inode_trylock(struct inode *inode)
{
	return inode_trylock(inode);
}

void tsfs_inode_lock_shared(struct inode *inode)
{
	inode_lock_shared(inode);
}

bool tsfs_inode_trylock_shared(struct inode *inode)
{
	return inode_trylock_shared(inode);
}

void tsfs_inode_unlock_shared(struct inode *inode)
{
	inode_unlock_shared(inode);
}

unsigned int tsfs_bdev_logical_block_size(struct block_device *bdev)
{
	return bdev_logical_block_size(bdev);
}

unsigned int tsfs_bdev_dma_alignment(struct block_device *bdev)
{
	return bdev_dma_alignment(bdev);
}

struct inode *tsfs_path_inode(const struct path *path)
{
	return d_inode(path->dentry);
}

bool tsfs_iocb_is_append(const struct kiocb *iocb)
{
	return iocb->ki_flags & IOCB_APPEND;
}

bool tsfs_iocb_is_async(struct kiocb *iocb)
{
	return !is_sync_kiocb(iocb) && !(iocb->ki_flags & IOCB_HIPRI);
}

bool tsfs_iocb_is_dsync(const struct kiocb *iocb)
{
	return iocb_is_dsync(iocb);
}

void tsfs_iocb_no_caller_comp(struct kiocb *iocb)
{
	iocb->ki_flags &= ~IOCB_DIO_CALLER_COMP;
}

bool tsfs_mmap_read_trylock(struct mm_struct *mm)
{
	return mmap_read_trylock(mm);
}
