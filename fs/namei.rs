// SPDX-License-Identifier: GPL-2.0

//! Name operations: lookup, create, mkdir, symlink, mknod, link, unlink, rmdir,
//! rename (with exchange and whiteout), and `O_TMPFILE` (a file without a name).
//!
//! The VFS holds the directories' inode locks (and, for a rename between
//! directories, the rename lock). Each operation makes the one change that can
//! fail for lack of space (adding an entry) first, so a failure leaves the file
//! system as it was.

use super::{
    dir,
    inode::{self, InodeKind},
    symlink, Dentry, Inode, LockedInode, NewInode,
};
use crate::format::{
    file_type_of_mode, is_special, validate_name, FT_DIR, MAX_NAME_LEN, S_IFDIR, S_IFLNK, S_IFREG,
};
use crate::kapi::{
    errno::{enametoolong, enotempty, euclean},
    fs::{
        inode::RenameFlags,
        special::{self, DeviceNumber},
        Idmap,
    },
};
use kernel::{prelude::*, types::ARef};

fn ino32(inode: &Inode) -> Result<u32> {
    u32::try_from(inode.ino()).map_err(|_| EINVAL)
}

fn positive(dentry: &Dentry) -> Result<&Inode> {
    dentry.inode().ok_or(ENOENT)
}

/// The inode `dentry`'s name has in `dir`, if any.
pub(crate) fn lookup(dir: &Inode, dentry: &Dentry) -> Result<Option<ARef<Inode>>> {
    let name = dentry.name();
    if name.len() > MAX_NAME_LEN {
        return Err(enametoolong());
    }
    let Some(entry) = dir::find(dir, name)? else {
        return Ok(None);
    };
    let inode = inode::iget(dir.super_block(), entry.ino)?;
    if file_type_of_mode(inode.mode()) != entry.file_type {
        pr_err!(
            "{}: directory {}: entry type disagrees with inode {}\n",
            dir.super_block().id(),
            dir.ino(),
            entry.ino
        );
        return Err(euclean());
    }
    Ok(Some(inode))
}

/// Makes a new inode of `mode`, lets `fill` give it its contents, and links it
/// into `dir` as `dentry`'s name.
fn make(
    dir: &LockedInode<'_>,
    dentry: &Dentry,
    idmap: &Idmap,
    mode: u16,
    kind: InodeKind,
    fill: impl FnOnce(&NewInode) -> Result,
) -> Result<NewInode> {
    let name = dentry.name();
    validate_name(name).map_err(dir::name_errno)?;
    let new = inode::create(dir, idmap, mode, kind)?;
    let added =
        fill(&new).and_then(|()| dir::add(dir, name, ino32(&new)?, file_type_of_mode(mode)));
    if let Err(e) = added {
        abandon(new);
        return Err(e);
    }
    new.data().note_new_name();
    dir.touch_mtime_ctime();
    dir.mark_dirty();
    Ok(new)
}

/// Gives up a new inode that got no name: its eviction frees its number.
fn abandon(new: NewInode) {
    new.set_nlink(0);
    new.discard();
}

/// `create`: a new regular file.
pub(crate) fn create(
    idmap: &Idmap,
    dir: &LockedInode<'_>,
    dentry: &Dentry,
    mode: u16,
) -> Result<NewInode> {
    make(
        dir,
        dentry,
        idmap,
        S_IFREG | (mode & 0o7777),
        InodeKind::Regular,
        |_| Ok(()),
    )
}

/// `symlink`: a new symbolic link to `target`.
pub(crate) fn symlink(
    idmap: &Idmap,
    dir: &LockedInode<'_>,
    dentry: &Dentry,
    target: &[u8],
) -> Result<NewInode> {
    make(
        dir,
        dentry,
        idmap,
        S_IFLNK | 0o777,
        InodeKind::Symlink,
        |new| symlink::write_target(new, target),
    )
}

/// `mknod`: a new device, pipe or socket (the VFS sends regular files to
/// `create` and refuses directories).
pub(crate) fn mknod(
    idmap: &Idmap,
    dir: &LockedInode<'_>,
    dentry: &Dentry,
    mode: u16,
    dev: DeviceNumber,
) -> Result<NewInode> {
    // Any `DeviceNumber` fits the on-disk encoding (both have the kernel's ranges).
    if !is_special(mode) {
        return Err(EINVAL);
    }
    make(dir, dentry, idmap, mode, InodeKind::Special { dev }, |_| {
        Ok(())
    })
}

/// `tmpfile` (`O_TMPFILE`): a new regular file with no name. It is freed when
/// its last user closes it, unless `linkat` gives it a name first. (A crash
/// before that leaves an inode that no entry names, with a link count of 0:
/// `fsck.tsfs -y` frees it; mount does not look for such inodes.)
pub(crate) fn tmpfile(idmap: &Idmap, dir: &Inode, mode: u16) -> Result<NewInode> {
    inode::create(dir, idmap, S_IFREG | (mode & 0o7777), InodeKind::Regular)
}

/// `mkdir`: a new, empty directory.
pub(crate) fn mkdir(
    idmap: &Idmap,
    dir: &LockedInode<'_>,
    dentry: &Dentry,
    mode: u16,
) -> Result<NewInode> {
    let new = make(
        dir,
        dentry,
        idmap,
        S_IFDIR | (mode & 0o7777),
        InodeKind::Directory,
        |_| Ok(()),
    )?;
    dir.inc_nlink();
    dir.mark_dirty();
    Ok(new)
}

/// `link`: another name for an existing file.
pub(crate) fn link(old: &Dentry, dir: &LockedInode<'_>, dentry: &Dentry) -> Result<ARef<Inode>> {
    let inode = positive(old)?;
    if inode.is_dir() {
        return Err(EPERM);
    }
    let name = dentry.name();
    validate_name(name).map_err(dir::name_errno)?;
    dir::add(dir, name, ino32(inode)?, file_type_of_mode(inode.mode()))?;
    inode.data().note_new_name();
    inode.inc_nlink();
    inode.touch_ctime();
    inode.mark_dirty();
    dir.touch_mtime_ctime();
    dir.mark_dirty();
    Ok(ARef::from(inode))
}

/// The slot of `dentry`'s entry in `dir`, which must name `inode`.
fn slot_of(dir: &Inode, dentry: &Dentry, inode: &Inode) -> Result<u64> {
    let entry = dir::find(dir, dentry.name())?.ok_or(ENOENT)?;
    if u64::from(entry.ino) != inode.ino() {
        return Err(euclean());
    }
    Ok(entry.slot)
}

/// `unlink`: removes a name of a file.
pub(crate) fn unlink(dir: &LockedInode<'_>, dentry: &Dentry) -> Result {
    let inode = positive(dentry)?;
    if inode.nlink() == 0 {
        return Err(euclean());
    }
    let slot = slot_of(dir, dentry, inode)?;
    dir::remove(dir, slot)?;
    inode.drop_nlink()?;
    inode.touch_ctime();
    inode.mark_dirty();
    dir.touch_mtime_ctime();
    dir.mark_dirty();
    Ok(())
}

/// `rmdir`: removes an empty directory.
pub(crate) fn rmdir(dir: &LockedInode<'_>, dentry: &Dentry) -> Result {
    let inode = positive(dentry)?;
    if !dir::is_empty(inode)? {
        return Err(enotempty());
    }
    if dir.nlink() < 3 {
        return Err(euclean());
    }
    let slot = slot_of(dir, dentry, inode)?;
    dir::remove(dir, slot)?;
    inode.set_nlink(0);
    inode.touch_ctime();
    inode.mark_dirty();
    dir.drop_nlink()?;
    dir.touch_mtime_ctime();
    dir.mark_dirty();
    Ok(())
}

/// `rename`: moves `old_dentry`'s file to `new_dentry`'s name, replacing what is
/// there (a file, or an empty directory). `RENAME_NOREPLACE` is checked by the
/// VFS; `RENAME_EXCHANGE` swaps the two names' files; `RENAME_WHITEOUT` leaves
/// a whiteout at the old name, made first, so that running out of inodes
/// changes nothing.
pub(crate) fn rename(
    idmap: &Idmap,
    old_dir: &LockedInode<'_>,
    old_dentry: &Dentry,
    new_dir: &LockedInode<'_>,
    new_dentry: &Dentry,
    flags: RenameFlags,
) -> Result {
    if !flags.known() {
        return Err(EINVAL);
    }
    if flags.exchange() {
        return exchange(old_dir, old_dentry, new_dir, new_dentry);
    }
    let whiteout = if flags.whiteout() {
        let (mode, dev) = special::whiteout();
        Some(inode::create(
            old_dir,
            idmap,
            mode,
            InodeKind::Special { dev },
        )?)
    } else {
        None
    };
    let moved = move_name(old_dir, old_dentry, new_dir, new_dentry, whiteout.as_ref());
    if let Some(w) = whiteout {
        if moved.is_ok() {
            w.data().note_new_name();
            // The old name's entry holds the link; the reference is dropped.
            drop(w.publish());
        } else {
            abandon(w);
        }
    }
    moved
}

/// The body of a plain rename: the old name's entry is removed, or, given a
/// `whiteout` inode, pointed at it.
fn move_name(
    old_dir: &LockedInode<'_>,
    old_dentry: &Dentry,
    new_dir: &LockedInode<'_>,
    new_dentry: &Dentry,
    whiteout: Option<&NewInode>,
) -> Result {
    let src = positive(old_dentry)?;
    let src_type = dirent_type(src);
    let new_name = new_dentry.name();
    validate_name(new_name).map_err(dir::name_errno)?;
    let old_slot = slot_of(old_dir, old_dentry, src)?;
    let target = new_dentry.inode();
    if let Some(t) = target {
        if t.is_dir() && !dir::is_empty(t)? {
            return Err(enotempty());
        }
        if t.nlink() == 0 || (t.is_dir() && new_dir.nlink() < 3) {
            return Err(euclean());
        }
        let slot = slot_of(new_dir, new_dentry, t)?;
        dir::retarget(new_dir, slot, ino32(src)?, src_type)?;
    } else {
        dir::add(new_dir, new_name, ino32(src)?, src_type)?;
    }
    match whiteout {
        Some(w) => dir::retarget(old_dir, old_slot, ino32(w)?, file_type_of_mode(w.mode()))?,
        None => dir::remove(old_dir, old_slot)?,
    }
    if let Some(t) = target {
        if t.is_dir() {
            t.set_nlink(0);
            new_dir.drop_nlink()?;
        } else {
            t.drop_nlink()?;
        }
        t.touch_ctime();
        t.mark_dirty();
    }
    if src.is_dir() && old_dir.ino() != new_dir.ino() {
        old_dir.drop_nlink()?;
        new_dir.inc_nlink();
        src.data().meta().parent = ino32(new_dir)?;
    }
    src.data().note_new_name();
    src.touch_ctime();
    src.mark_dirty();
    old_dir.touch_mtime_ctime();
    old_dir.mark_dirty();
    new_dir.touch_mtime_ctime();
    new_dir.mark_dirty();
    Ok(())
}

/// The directory entry type of `inode`.
fn dirent_type(inode: &Inode) -> u8 {
    if inode.is_dir() {
        FT_DIR
    } else {
        file_type_of_mode(inode.mode())
    }
}

/// `RENAME_EXCHANGE`: each name's entry is pointed at the other's file. Both
/// slots are found before either entry changes, and if the second change fails
/// the first is undone, so a failure leaves both names as they were.
fn exchange(
    old_dir: &LockedInode<'_>,
    old_dentry: &Dentry,
    new_dir: &LockedInode<'_>,
    new_dentry: &Dentry,
) -> Result {
    let a = positive(old_dentry)?;
    let b = positive(new_dentry)?;
    let old_slot = slot_of(old_dir, old_dentry, a)?;
    let new_slot = slot_of(new_dir, new_dentry, b)?;
    dir::retarget(old_dir, old_slot, ino32(b)?, dirent_type(b))?;
    if let Err(e) = dir::retarget(new_dir, new_slot, ino32(a)?, dirent_type(a)) {
        // Best effort: the block was readable a moment ago.
        let _ = dir::retarget(old_dir, old_slot, ino32(a)?, dirent_type(a));
        return Err(e);
    }
    if old_dir.ino() != new_dir.ino() && a.is_dir() != b.is_dir() {
        // One directory changes parent: its ".." link moves with it.
        let (from, to) = if a.is_dir() {
            (old_dir, new_dir)
        } else {
            (new_dir, old_dir)
        };
        from.drop_nlink()?;
        to.inc_nlink();
    }
    if old_dir.ino() != new_dir.ino() {
        if a.is_dir() {
            a.data().meta().parent = ino32(new_dir)?;
        }
        if b.is_dir() {
            b.data().meta().parent = ino32(old_dir)?;
        }
    }
    for inode in [a, b] {
        inode.data().note_new_name();
        inode.touch_ctime();
        inode.mark_dirty();
    }
    old_dir.touch_mtime_ctime();
    old_dir.mark_dirty();
    new_dir.touch_mtime_ctime();
    new_dir.mark_dirty();
    Ok(())
}
