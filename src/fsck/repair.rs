//! Repairing: check, make the safe repairs the check found, check again, until
//! nothing more can be repaired.

use std::io;

use super::{check, Fix, Problem, Report};
use crate::device::Device;
use crate::image::Image;

/// How far `fsck.tsfs` may go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Check only; never write (`-n`, and the default).
    Check,
    /// Repair only if every problem found has a repair that loses nothing a
    /// program could read; otherwise change nothing (`-p`, `-a`).
    Preen,
    /// Make every repair there is (`-y`).
    Yes,
}

/// What a repair run did.
#[derive(Debug)]
pub struct Outcome {
    /// Problems repaired (each gone from the check that followed a round of
    /// repairs).
    pub fixed: Vec<Problem>,
    /// The last check. Its problems are left uncorrected.
    pub report: Report,
    /// Preen mode left problems (it stops at the first it may not repair).
    pub halted: bool,
    /// The file system had not been cleanly unmounted and was found clean,
    /// so it was marked clean (with exact free counts).
    pub marked_clean: bool,
}

/// Rounds of repairs at most; each round's repairs may uncover others (a
/// block map trimmed leaves leaked blocks), a couple of rounds suffice.
const MAX_ROUNDS: usize = 8;

/// Checks the tsfs image on `dev` and repairs it as far as `mode` allows; `dev`
/// must be writable unless `mode` is [`Mode::Check`]. An `Err` means the device
/// could not be read or written (an operational error).
pub fn repair(dev: Device, mode: Mode) -> io::Result<Outcome> {
    let mut out = Outcome {
        report: check(&dev)?,
        fixed: Vec::new(),
        halted: false,
        marked_clean: false,
    };
    let work = out.report.fixes().next().is_some() || (out.report.is_clean() && out.report.dirty);
    if mode != Mode::Check && work {
        if mode == Mode::Yes && out.report.fixes().any(|f| *f == Fix::SuperBlockChecksum) {
            super::fix::rewrite_superblock_checksum(&dev)?;
        }
        // Repairs go through the image code, which wants a valid super block;
        // without one, nothing is repaired (the check said why).
        match Image::from_device(dev) {
            Ok(mut image) => repair_image(&mut image, mode, &mut out)?,
            Err(e) if e.kind() == io::ErrorKind::InvalidData => {}
            Err(e) => return Err(e),
        }
    }
    out.halted = mode == Mode::Preen && !out.report.is_clean();
    Ok(out)
}

fn repair_image(image: &mut Image, mode: Mode, out: &mut Outcome) -> io::Result<()> {
    for _ in 0..MAX_ROUNDS {
        let fixes: Vec<_> = out.report.fixes().copied().collect();
        let allowed = mode == Mode::Yes
            || out
                .report
                .errors
                .iter()
                .all(|p| p.fix.is_some_and(|f| f.preen_safe()));
        if fixes.is_empty() || !allowed {
            break;
        }
        super::fix::apply(image, &fixes)?;
        let after = check(image.device())?;
        let before = std::mem::replace(&mut out.report, after);
        // Gone after the round: repaired, or resolved by another repair (an
        // inode in a lost directory is reached once that is reconnected).
        let still = |p: &Problem| out.report.errors.iter().any(|q| q.text == p.text);
        out.fixed
            .extend(before.errors.into_iter().filter(|p| !still(p)));
    }
    if out.report.is_clean() && out.report.dirty {
        image.mark_clean()?;
        out.report = check(image.device())?;
        out.marked_clean = true;
    }
    Ok(())
}
