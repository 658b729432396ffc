// SPDX-License-Identifier: GPL-2.0

//! Special files: device numbers, inodes that are devices, pipes or sockets
//! (`init_special_inode`), and the `mknod` operation.

use super::{
    dentry::{Dentry, Idmap},
    inode::{Locked, Operations},
    FileSystem, INode, NewINode,
};
use kernel::{bindings, error::from_result, ffi::c_int};

/// A device number, as its major and minor parts.
///
/// # Invariants
///
/// `major < 2^12` and `minor < 2^20`: the ranges of the kernel's `dev_t`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct DeviceNumber {
    major: u32,
    minor: u32,
}

impl DeviceNumber {
    /// The number with these parts; `None` if either is out of range.
    pub(crate) fn new(major: u32, minor: u32) -> Option<Self> {
        (major < 1 << (32 - bindings::MINORBITS) && minor <= bindings::MINORMASK)
            .then_some(Self { major, minor })
    }

    /// The major number.
    pub(crate) fn major(self) -> u32 {
        self.major
    }

    /// The minor number.
    pub(crate) fn minor(self) -> u32 {
        self.minor
    }

    fn from_dev(dev: bindings::dev_t) -> Self {
        // The type invariant holds: the shift leaves 12 bits, the mask 20.
        Self {
            major: dev >> bindings::MINORBITS,
            minor: dev & bindings::MINORMASK,
        }
    }

    fn to_dev(self) -> bindings::dev_t {
        // Cannot overflow: the parts are in range (type invariant).
        (self.major << bindings::MINORBITS) | self.minor
    }
}

impl<T: FileSystem> INode<T> {
    /// The device number of a device file (zero for other files).
    pub(crate) fn device_number(&self) -> DeviceNumber {
        // SAFETY: `i_rdev` is set before the inode is visible (`init_special_inode`
        // on a new inode) and never changed after.
        DeviceNumber::from_dev(unsafe { (*self.as_ptr()).i_rdev })
    }
}

impl<T: FileSystem> NewINode<T> {
    /// Makes the inode a special file of `mode`'s type (character or block
    /// device, pipe, socket), with the VFS's operations for that type and, for a
    /// device, the number `dev`. Its inode operations stay the filesystem's
    /// (set them first: attribute changes still go through the filesystem).
    pub(crate) fn init_special(&self, mode: u16, dev: DeviceNumber) {
        // SAFETY: the inode is new and ours alone (`NewINode`'s invariant);
        // `init_special_inode` sets its mode, file operations and device number,
        // and logs (only) a mode that is no special file.
        unsafe { bindings::init_special_inode(self.as_ptr(), mode, dev.to_dev()) };
    }
}

/// # Safety
///
/// Called by the VFS (`vfs_mknod`) with a live directory of `U`'s type, locked, a
/// negative dentry in it, a mode whose type is a special file's (the VFS refuses
/// others before calling), and a device number.
pub(super) unsafe extern "C" fn mknod<U: Operations>(
    idmap: *mut bindings::mnt_idmap,
    dir: *mut bindings::inode,
    dentry: *mut bindings::dentry,
    mode: bindings::umode_t,
    dev: bindings::dev_t,
) -> c_int {
    from_result(|| {
        // SAFETY: as the VFS promises above.
        let (m, d, e) = unsafe {
            (
                Idmap::from_raw(idmap),
                Locked::<U::FileSystem>::from_raw(dir),
                Dentry::from_raw(dentry),
            )
        };
        let new = U::mknod(m, &d, e, mode, DeviceNumber::from_dev(dev))?;
        // SAFETY: `dentry` is the negative dentry of the call, its parent locked;
        // the new inode is set up and locked, and `d_instantiate_new` takes it.
        unsafe { bindings::d_instantiate_new(dentry, new.into_raw()) };
        Ok(0)
    })
}

/// The mode and device number of a whiteout, the character device 0:0 with no
/// permission bits that `RENAME_WHITEOUT` leaves at the old name (overlayfs reads
/// it as "deleted here").
pub(crate) fn whiteout() -> (u16, DeviceNumber) {
    // Both constants fit: a file type with no permission bits, and device 0:0.
    let mode = (bindings::S_IFCHR | bindings::WHITEOUT_MODE) as u16;
    (mode, DeviceNumber::from_dev(bindings::WHITEOUT_DEV))
}
