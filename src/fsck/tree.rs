//! fsck passes 3 and 4: directory entries, then reachability from the root
//! and link counts.

use std::collections::{BTreeMap, HashSet};
use std::io;

use super::fix::LOST_AND_FOUND;
use super::{Fix, Fsck};
use crate::format::{
    decode_dirent, file_type_of_mode, map_block, test_bit, validate_name, Inode, Mapping,
    BLOCK_SIZE, DIRENTS_PER_BLOCK, DIRENT_SIZE, ROOT_INO,
};

/// What the directory entries say about the inodes they name.
#[derive(Default)]
struct Links {
    /// Entries naming each inode.
    refs: BTreeMap<u32, u32>,
    /// Subdirectories of each directory.
    subdirs: BTreeMap<u32, u32>,
    /// Inodes named by each directory.
    children: BTreeMap<u32, Vec<u32>>,
    /// Whether the root has an entry named `lost+found`, and the directory it
    /// names if it is a sound one.
    lost_found: Option<Option<u32>>,
}

impl Links {
    /// Whether lost inodes can be reconnected into `/lost+found`: it is a
    /// sound directory, or there is none yet (it is then made).
    fn lost_found_usable(&self) -> bool {
        !matches!(self.lost_found, Some(None))
    }
}

pub(super) fn check(f: &mut Fsck<'_>) -> io::Result<()> {
    let mut links = Links::default();
    let dirs: Vec<u32> = f
        .inodes
        .iter()
        .filter(|(_, info)| info.inode.is_dir())
        .map(|(&ino, _)| ino)
        .collect();
    for dir in dirs {
        check_directory(f, dir, &mut links)?;
    }
    check_root(f);
    check_reachable(f, &links);
    check_link_counts(f, &links);
    Ok(())
}

fn show(name: &[u8]) -> String {
    format!("{:?}", String::from_utf8_lossy(name))
}

fn check_directory(f: &mut Fsck<'_>, dir: u32, links: &mut Links) -> io::Result<()> {
    let Some(info) = f.inodes.get(&dir) else {
        return Ok(());
    };
    let extents = info.extents.clone();
    let blocks = info.inode.size.get() / u64::from(BLOCK_SIZE);
    let mut names = HashSet::new();
    for fb in 0..blocks {
        let disk_block = match map_block(extents.iter().copied(), fb) {
            Mapping::Mapped {
                unwritten: true, ..
            } => {
                f.error(format!("directory {dir}: block {fb} is unwritten"));
                continue;
            }
            Mapping::Mapped { disk_block, .. } => disk_block,
            Mapping::Hole { .. } => continue, // reported by pass 1
        };
        let data = f.dev.read_block(disk_block)?;
        for (in_block, slot) in data.chunks_exact(DIRENT_SIZE).enumerate() {
            let slot_no = fb * DIRENTS_PER_BLOCK as u64 + in_block as u64;
            let remove = Fix::RemoveEntry {
                dir,
                block: disk_block,
                slot: in_block,
            };
            let entry = match decode_dirent(slot) {
                Ok(Some(entry)) => entry,
                Ok(None) => continue,
                Err(e) => {
                    f.error(format!(
                        "directory {dir}: slot {slot_no}: {}",
                        e.description()
                    ));
                    continue;
                }
            };
            let name = show(entry.name);
            let is_lost_found = dir == ROOT_INO && entry.name == LOST_AND_FOUND.as_bytes();
            if is_lost_found {
                links.lost_found = Some(None);
            }
            if let Err(e) = validate_name(entry.name) {
                f.error(format!(
                    "directory {dir}: entry {name}: {}",
                    e.description()
                ));
            }
            if !names.insert(entry.name.to_vec()) {
                f.error(format!("directory {dir}: duplicate entry {name}"));
            }
            let ino = entry.ino;
            if ino >= f.geom.inode_count {
                f.fixable(
                    format!(
                        "directory {dir}: entry {name} points to inode {ino}, past the last inode"
                    ),
                    remove,
                );
                continue;
            }
            if ino == ROOT_INO {
                f.error(format!(
                    "directory {dir}: entry {name} points to the root directory"
                ));
                continue;
            }
            if test_bit(&f.inode_bitmap, u64::from(ino)) != Some(true) {
                f.fixable(
                    format!("directory {dir}: entry {name} points to free inode {ino}"),
                    remove,
                );
                continue;
            }
            let Some(target) = f.inodes.get(&ino) else {
                f.error(format!(
                    "directory {dir}: entry {name} points to damaged inode {ino}"
                ));
                continue;
            };
            let want = file_type_of_mode(target.inode.mode.get());
            let is_dir = target.inode.is_dir();
            let parent = target.inode.parent.get();
            if entry.file_type != want {
                f.error(format!(
                    "directory {dir}: entry {name} has file type {}, but inode {ino} has type {want}",
                    entry.file_type
                ));
            }
            *links.refs.entry(ino).or_default() += 1;
            links.children.entry(dir).or_default().push(ino);
            if is_dir {
                if is_lost_found {
                    links.lost_found = Some(Some(ino));
                }
                *links.subdirs.entry(dir).or_default() += 1;
                if parent != dir {
                    f.error(format!(
                        "directory {ino}: its parent field is {parent}, but it is entry {name} of directory {dir}"
                    ));
                }
            }
        }
    }
    Ok(())
}

fn check_root(f: &mut Fsck<'_>) {
    match f.inodes.get(&ROOT_INO) {
        Some(root) if !root.inode.is_dir() => {
            f.error(format!(
                "root inode {ROOT_INO} is not a directory (mode {:#o})",
                root.inode.mode.get()
            ));
        }
        Some(root) if root.inode.parent.get() != ROOT_INO => {
            let parent = root.inode.parent.get();
            f.error(format!(
                "root directory: parent field is {parent}, should be {ROOT_INO}"
            ));
        }
        Some(_) => {}
        None if f.damaged.contains(&ROOT_INO) => {}
        None => f.error(format!("root inode {ROOT_INO} is not in use")),
    }
}

/// Every sound in-use inode must be reachable from the root.
fn check_reachable(f: &mut Fsck<'_>, links: &Links) {
    let mut reached = HashSet::from([ROOT_INO]);
    let mut stack = vec![ROOT_INO];
    while let Some(dir) = stack.pop() {
        for &child in links.children.get(&dir).into_iter().flatten() {
            let child_is_dir = f.inodes.get(&child).is_some_and(|i| i.inode.is_dir());
            if reached.insert(child) && child_is_dir {
                stack.push(child);
            }
        }
    }
    let lost: Vec<(u32, &Inode)> = f
        .inodes
        .iter()
        .filter(|(ino, _)| !reached.contains(ino))
        .map(|(&ino, info)| (ino, &info.inode))
        .collect();
    // Releasing or reconnecting an inode is safe only if every entry that
    // might name it has been read, and there is a root to reconnect it to.
    let root_ok = f.inodes.get(&ROOT_INO).is_some_and(|r| r.inode.is_dir());
    let can_fix = !f.incomplete && root_ok;
    let mut problems = Vec::new();
    for (ino, inode) in lost {
        let kind = if inode.is_dir() { "directory" } else { "file" };
        let line =
            format!("inode {ino} ({kind}) is in use but not reachable from the root directory");
        // Named by an entry of an unreachable directory: reached once the top
        // of its tree is reconnected (unless the directories form a loop).
        if links.refs.contains_key(&ino) {
            problems.push((line, None));
            continue;
        }
        // No entry names it, and it has no links to lose or nothing to keep:
        // what a crash leaves of a file unlinked while open.
        let empty = inode.size.get() == 0 && inode.blocks.get() == 0;
        if !inode.is_dir() && (inode.nlink.get() == 0 || empty) {
            let why = if empty {
                "it is empty"
            } else {
                "its link count is 0"
            };
            let fix = can_fix.then_some(Fix::ReleaseInode { ino });
            problems.push((format!("{line}, and {why}"), fix));
        } else {
            let fix = (can_fix && links.lost_found_usable()).then_some(Fix::Reconnect { ino });
            problems.push((line, fix));
        }
    }
    f.report_all(problems);
}

/// A file's link count is the number of entries naming it; a directory's is
/// 2 plus its subdirectories, and exactly one entry names it (none for the root).
fn check_link_counts(f: &mut Fsck<'_>, links: &Links) {
    let mut problems = Vec::new();
    let incomplete = f.incomplete;
    let fix = |ino, nlink| (!incomplete).then_some(Fix::SetLinkCount { ino, nlink });
    for (&ino, info) in &f.inodes {
        let nlink = info.inode.nlink.get();
        let refs = links.refs.get(&ino).copied().unwrap_or(0);
        if info.inode.is_dir() {
            let subdirs = links.subdirs.get(&ino).copied().unwrap_or(0);
            if nlink != 2 + subdirs {
                problems.push((
                    format!(
                        "directory {ino}: link count is {nlink}, expected {} (2 + {subdirs} subdirectories)",
                        2 + subdirs
                    ),
                    fix(ino, 2 + subdirs),
                ));
            }
            if ino != ROOT_INO && refs > 1 {
                problems.push((
                    format!(
                        "directory {ino}: {refs} entries point to it (directories cannot be hard linked)"
                    ),
                    None,
                ));
            }
        } else if refs > 0 && nlink != refs {
            problems.push((
                format!(
                    "inode {ino}: link count is {nlink}, but {refs} directory entries point to it"
                ),
                fix(ino, refs),
            ));
        }
    }
    f.report_all(problems);
}
