// SPDX-License-Identifier: GPL-2.0

//! Directory entries and id mappings, as the VFS passes them to a filesystem.

use super::{FileSystem, INode};
use core::{
    marker::PhantomData,
    ptr::{addr_of, NonNull},
};
use kernel::{bindings, types::Opaque};

// bindgen's structs stand for C structs, a few of which hold config-dependent
// empty structs; only pointers to them cross this boundary.
#[allow(improper_ctypes)]
extern "C" {
    fn tsfs_d_inode(dentry: *const bindings::dentry) -> *mut bindings::inode;
}

/// A dentry of a filesystem of type `T`, as passed to an inode operation.
///
/// # Invariants
///
/// The dentry is live and belongs to a super block of type `T`; its name does not
/// change while the filesystem holds the reference (the VFS locks the parent
/// directory around the operations that receive it).
#[repr(transparent)]
pub(crate) struct Dentry<T: FileSystem>(Opaque<bindings::dentry>, PhantomData<T>);

impl<T: FileSystem> Dentry<T> {
    /// # Safety
    ///
    /// `ptr` satisfies the type invariants for `'a`.
    pub(in crate::kapi) unsafe fn from_raw<'a>(ptr: *mut bindings::dentry) -> &'a Self {
        // SAFETY: `Dentry` is a transparent wrapper; the caller vouches for `ptr`.
        unsafe { &*ptr.cast::<Self>() }
    }

    pub(in crate::kapi) fn as_ptr(&self) -> *mut bindings::dentry {
        self.0.get()
    }

    /// The entry's name.
    pub(crate) fn name(&self) -> &[u8] {
        // SAFETY: the dentry is live and its name stable (type invariant); `d_name`
        // describes `len` bytes at `name`.
        unsafe {
            let q = addr_of!((*self.as_ptr()).d_name);
            let len = (*q).__bindgen_anon_1.__bindgen_anon_1.len as usize;
            core::slice::from_raw_parts((*q).name, len)
        }
    }

    /// The inode the entry names, if it is positive.
    pub(crate) fn inode(&self) -> Option<&INode<T>> {
        // SAFETY: the dentry is live (type invariant).
        let inode = unsafe { tsfs_d_inode(self.as_ptr()) };
        if inode.is_null() {
            None
        } else {
            // SAFETY: a positive dentry pins a live inode of its super block's type
            // while it lives.
            Some(unsafe { INode::from_raw(inode) })
        }
    }
}

/// A reference to a dentry of a filesystem of type `T`, given back on drop.
///
/// # Invariants
///
/// `dentry` is a live dentry of a super block of type `T`, whose reference this
/// object owns.
pub(crate) struct DentryRef<T: FileSystem> {
    dentry: NonNull<bindings::dentry>,
    _fs: PhantomData<T>,
}

impl<T: FileSystem> DentryRef<T> {
    /// The parent of `dentry` (the dentry itself for the root), referenced.
    /// (`dget_parent` never fails; `None` only stands for a null it cannot return.)
    ///
    /// # Safety
    ///
    /// `dentry` is a live dentry of a super block of type `T`.
    pub(in crate::kapi) unsafe fn parent_of(dentry: *mut bindings::dentry) -> Option<Self> {
        // SAFETY: the caller's guarantee; `dget_parent` returns a referenced, live
        // dentry of the same super block.
        let parent = unsafe { bindings::dget_parent(dentry) };
        // INVARIANT: as just said.
        NonNull::new(parent).map(|dentry| DentryRef {
            dentry,
            _fs: PhantomData,
        })
    }

    /// The parent directory's entry (the dentry itself for the root).
    pub(crate) fn parent(&self) -> Option<Self> {
        // SAFETY: the dentry is live and of type `T` (type invariant).
        unsafe { Self::parent_of(self.dentry.as_ptr()) }
    }

    /// Whether this is the root of its file system (its own parent).
    pub(crate) fn is_root(&self) -> bool {
        // SAFETY: the dentry is live (type invariant); `d_parent` is always valid.
        unsafe { (*self.dentry.as_ptr()).d_parent == self.dentry.as_ptr() }
    }

    /// The inode the entry names, if it is positive.
    pub(crate) fn inode(&self) -> Option<&INode<T>> {
        // SAFETY: the dentry is live (type invariant).
        let inode = unsafe { tsfs_d_inode(self.dentry.as_ptr()) };
        if inode.is_null() {
            None
        } else {
            // SAFETY: a positive dentry pins a live inode of its super block's type
            // while it lives, and we hold a reference to it.
            Some(unsafe { INode::from_raw(inode) })
        }
    }
}

impl<T: FileSystem> Drop for DentryRef<T> {
    fn drop(&mut self) {
        // SAFETY: we own one reference to the dentry (type invariant).
        unsafe { bindings::dput(self.dentry.as_ptr()) };
    }
}

/// The id mapping of the mount an operation came through.
///
/// # Invariants
///
/// Wraps a live `mnt_idmap` passed to the current operation.
#[repr(transparent)]
pub(crate) struct Idmap(Opaque<bindings::mnt_idmap>);

impl Idmap {
    /// # Safety
    ///
    /// `ptr` satisfies the type invariants for `'a`.
    pub(in crate::kapi) unsafe fn from_raw<'a>(ptr: *mut bindings::mnt_idmap) -> &'a Self {
        // SAFETY: `Idmap` is a transparent wrapper; the caller vouches for `ptr`.
        unsafe { &*ptr.cast::<Self>() }
    }

    pub(in crate::kapi) fn as_ptr(&self) -> *mut bindings::mnt_idmap {
        self.0.get()
    }
}
