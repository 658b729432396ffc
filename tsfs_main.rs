// SPDX-License-Identifier: GPL-2.0

//! tsfs: a sleeping two-state lock (`TwoStateLock`) and a small iomap-based
//! filesystem whose page faults take the inode lock in *add* and whose direct IO
//! takes it in *block*.
//!
//! Layout: `locking/` holds the lock, `fs/` the filesystem, `kapi/` the thin unsafe
//! layer over C APIs (with safe wrappers), and `src/format.rs` the on-disk format
//! shared with the userspace tools.

use kernel::{c_str, prelude::*};

mod fs;
mod kapi;
// Shared with the userspace tools, which use all of it; the module uses a part.
#[allow(
    dead_code,
    unreachable_pub,
    clippy::wrong_self_convention,
    clippy::enum_variant_names
)]
#[path = "src/format.rs"]
mod format;
mod locking;

module! {
    type: Tsfs,
    name: "tsfs",
    author: "tsfs developers",
    description: "tsfs: two-state lock and iomap filesystem",
    license: "GPL",
}

struct Tsfs {
    // Fields drop in order: unregister the filesystem before removing debugfs.
    _fs_type: kapi::fs::Registration,
    _debugfs: kapi::debugfs::Dir,
}

impl kernel::Module for Tsfs {
    fn init(module: &'static ThisModule) -> Result<Self> {
        let debugfs = kapi::debugfs::Dir::new_module_root(c_str!("tsfs"));
        debugfs.create_file(c_str!("selftest"), 0o200, &SelfTestControl);
        debugfs.create_file(c_str!("bench"), 0o200, &BenchControl);
        debugfs.create_file(c_str!("lock_stats"), 0o400, &LockStatsFile);
        debugfs.create_file(c_str!("dio_overlap_detect"), 0o600, &OverlapDetectKnob);
        debugfs.create_file(c_str!("inode_lock_gate"), 0o600, &InodeGateKnob);
        let fs_type = kapi::fs::Registration::new::<fs::Tsfs>(module)?;
        pr_info!("loaded (on-disk format magic {:#x})\n", format::TSFS_MAGIC);
        Ok(Tsfs {
            _fs_type: fs_type,
            _debugfs: debugfs,
        })
    }
}

/// `/sys/kernel/debug/tsfs/selftest`: writing a suite name runs it (KTAP on the
/// kernel log); the write fails if the suite failed.
struct SelfTestControl;

impl kapi::debugfs::FileOps for SelfTestControl {
    fn store(&self, input: &[u8]) -> Result {
        match trim(input) {
            b"lock" => locking::selftest::run_lock_suite(),
            b"lockdep-cycle" => locking::selftest::provoke_cycle(),
            b"lockdep-recursion" => locking::selftest::provoke_recursion(),
            b"lockdep-legal" => locking::selftest::legal_use(),
            _ => Err(EINVAL),
        }
    }
}

/// `/sys/kernel/debug/tsfs/bench`: writing a benchmark set's name runs it; results
/// go to the kernel log as `bench:` lines.
struct BenchControl;

impl kapi::debugfs::FileOps for BenchControl {
    fn store(&self, input: &[u8]) -> Result {
        match trim(input) {
            b"lock" => locking::bench::run_lock_benchmarks(),
            _ => Err(EINVAL),
        }
    }
}

/// `/sys/kernel/debug/tsfs/lock_stats`: per-state statistics of every
/// `TwoStateLock` class.
struct LockStatsFile;

impl kapi::debugfs::FileOps for LockStatsFile {
    fn show(&self, out: &mut kapi::debugfs::TextBuf) -> Result {
        locking::stats::write_all(out).map_err(|_| ENOMEM)
    }
}

/// `/sys/kernel/debug/tsfs/dio_overlap_detect`: 1 (default) or 0. For tests only:
/// with 0, direct IO does not look for self-mapped buffers, and the no-progress
/// backstop alone must keep it from spinning.
struct OverlapDetectKnob;

impl kapi::debugfs::FileOps for OverlapDetectKnob {
    fn show(&self, out: &mut kapi::debugfs::TextBuf) -> Result {
        use core::fmt::Write;
        let on = fs::dio::DETECT_OVERLAP.load(core::sync::atomic::Ordering::Relaxed);
        writeln!(out, "{}", u8::from(on)).map_err(|_| ENOMEM)
    }

    fn store(&self, input: &[u8]) -> Result {
        let on = match trim(input) {
            b"1" => true,
            b"0" => false,
            _ => return Err(EINVAL),
        };
        fs::dio::DETECT_OVERLAP.store(on, core::sync::atomic::Ordering::Relaxed);
        Ok(())
    }
}

/// `/sys/kernel/debug/tsfs/inode_lock_gate`: `on` (default), `deadline` or `off`,
/// the gate mode of inode page cache locks created from now on (for benchmarks).
struct InodeGateKnob;

impl kapi::debugfs::FileOps for InodeGateKnob {
    fn show(&self, out: &mut kapi::debugfs::TextBuf) -> Result {
        use core::fmt::Write;
        let names = ["on", "deadline", "off"];
        let mode = fs::inode::INODE_GATE_MODE.load(core::sync::atomic::Ordering::Relaxed);
        let name = names.get(usize::from(mode)).copied().unwrap_or("on");
        writeln!(out, "{}", name).map_err(|_| ENOMEM)
    }

    fn store(&self, input: &[u8]) -> Result {
        let mode = match trim(input) {
            b"on" => 0,
            b"deadline" => 1,
            b"off" => 2,
            _ => return Err(EINVAL),
        };
        fs::inode::INODE_GATE_MODE.store(mode, core::sync::atomic::Ordering::Relaxed);
        Ok(())
    }
}

/// `input` without surrounding ASCII white space (`echo` adds a newline).
fn trim(input: &[u8]) -> &[u8] {
    let start = input
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(input.len());
    let end = input
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    input.get(start..end).unwrap_or(&[])
}

impl Drop for Tsfs {
    fn drop(&mut self) {
        pr_info!("unloading\n");
    }
}
