//! fsck passes 3 and 4: directory entries, then reachability from the root
//! and link counts.

use std::collections::{BTreeMap, HashSet};
use std::io;

use super::Fsck;
use crate::format::{
    decode_dirent, file_type_of_mode, map_block, test_bit, validate_name, Mapping, BLOCK_SIZE,
    DIRENT_SIZE, ROOT_INO,
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
        for (slot_no, slot) in data.chunks_exact(DIRENT_SIZE).enumerate() {
            let slot_no = fb * (data.len() / DIRENT_SIZE) as u64 + slot_no as u64;
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
                f.error(format!(
                    "directory {dir}: entry {name} points to inode {ino}, past the last inode"
                ));
                continue;
            }
            if ino == ROOT_INO {
                f.error(format!(
                    "directory {dir}: entry {name} points to the root directory"
                ));
                continue;
            }
            if test_bit(&f.inode_bitmap, u64::from(ino)) != Some(true) {
                f.error(format!(
                    "directory {dir}: entry {name} points to free inode {ino}"
                ));
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
    let lost: Vec<(u32, bool)> = f
        .inodes
        .iter()
        .filter(|(ino, _)| !reached.contains(ino))
        .map(|(&ino, info)| (ino, info.inode.is_dir()))
        .collect();
    for (ino, is_dir) in lost {
        let kind = if is_dir { "directory" } else { "file" };
        f.error(format!(
            "inode {ino} ({kind}) is in use but not reachable from the root directory"
        ));
    }
}

/// A file's link count is the number of entries naming it; a directory's is
/// 2 plus its subdirectories, and exactly one entry names it (none for the root).
fn check_link_counts(f: &mut Fsck<'_>, links: &Links) {
    let mut lines = Vec::new();
    for (&ino, info) in &f.inodes {
        let nlink = info.inode.nlink.get();
        let refs = links.refs.get(&ino).copied().unwrap_or(0);
        if info.inode.is_dir() {
            let subdirs = links.subdirs.get(&ino).copied().unwrap_or(0);
            if nlink != 2 + subdirs {
                lines.push(format!(
                    "directory {ino}: link count is {nlink}, expected {} (2 + {subdirs} subdirectories)",
                    2 + subdirs
                ));
            }
            if ino != ROOT_INO && refs > 1 {
                lines.push(format!(
                    "directory {ino}: {refs} entries point to it (directories cannot be hard linked)"
                ));
            }
        } else if refs > 0 && nlink != refs {
            lines.push(format!(
                "inode {ino}: link count is {nlink}, but {refs} directory entries point to it"
            ));
        }
    }
    for line in lines {
        f.error(line);
    }
}
