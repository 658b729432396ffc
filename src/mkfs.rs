//! Making a tsfs file system: the work behind `mkfs.tsfs`.

use std::fs::File;
use std::io::{self, Read};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::device::Device;
use crate::format::{
    set_bit, Geometry, Inode, Le32, SuperBlock, BLOCK_BYTES, BLOCK_SIZE, MIN_BLOCKS, ROOT_INO,
    S_IFDIR,
};
use crate::image::{invalid, now, padded_bitmap};

/// Writes a fresh tsfs onto all of `dev` with `inodes` inodes (0: the default
/// density) and returns its layout. The old super block is wiped first and the
/// new one written last, after everything else is on disk.
pub fn format_device(dev: &Device, inodes: u64, uuid: [u8; 16]) -> io::Result<Geometry> {
    let geom = Geometry::for_device(dev.len(), inodes).ok_or_else(|| {
        if dev.len() < MIN_BLOCKS * u64::from(BLOCK_SIZE) {
            invalid(format!(
                "device too small: {} bytes, tsfs needs at least {} KiB",
                dev.len(),
                MIN_BLOCKS * u64::from(BLOCK_SIZE) / 1024
            ))
        } else {
            invalid("cannot lay out a file system of that size with that many inodes")
        }
    })?;
    dev.zero_blocks(0, geom.first_data_block)?;

    let mut inode_bitmap = padded_bitmap(geom.inode_bitmap_blocks, u64::from(geom.inode_count));
    set_bit(&mut inode_bitmap, 0, true);
    set_bit(&mut inode_bitmap, u64::from(ROOT_INO), true);
    dev.write_blocks(geom.inode_bitmap_start, &inode_bitmap)?;

    let mut block_bitmap = padded_bitmap(geom.block_bitmap_blocks, geom.total_blocks);
    for block in 0..geom.first_data_block {
        set_bit(&mut block_bitmap, block, true);
    }
    dev.write_blocks(geom.block_bitmap_start, &block_bitmap)?;

    let sb = SuperBlock::new(&geom, uuid, seconds_now());
    let mut root = Inode::new(S_IFDIR | 0o755, 0, 0, 2, now());
    root.parent = Le32::new(ROOT_INO);
    root.update_checksum(sb.checksum_seed(), ROOT_INO);
    let (block, offset) = geom
        .inode_location(ROOT_INO)
        .ok_or_else(|| invalid("no room for the root inode"))?;
    let mut buf = dev.read_block(block)?;
    root.to_bytes(&mut buf[offset..])
        .ok_or_else(|| invalid("inode table block too short"))?;
    dev.write_blocks(block, &buf)?;
    dev.sync()?;

    let mut block0 = vec![0u8; BLOCK_BYTES];
    sb.to_bytes(&mut block0)
        .ok_or_else(|| invalid("super block does not fit"))?;
    dev.write_blocks(0, &block0)?;
    dev.sync()?;
    Ok(geom)
}

fn seconds_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A random (version 4) UUID from `/dev/urandom`, or one made from the time and
/// process id if that cannot be read.
pub fn random_uuid() -> [u8; 16] {
    let mut uuid = [0u8; 16];
    let read = File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut uuid));
    if read.is_err() {
        let t = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        uuid[..8].copy_from_slice(&(t as u64).to_le_bytes());
        uuid[8..12].copy_from_slice(&std::process::id().to_le_bytes());
    }
    uuid[6] = (uuid[6] & 0x0f) | 0x40;
    uuid[8] = (uuid[8] & 0x3f) | 0x80;
    uuid
}

/// Parses a size in bytes: digits, optionally followed by `K`, `M`, `G` or `T`
/// (powers of 1024, either case).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let (digits, shift) = match text.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let shift = match c.to_ascii_uppercase() {
                'K' => 10,
                'M' => 20,
                'G' => 30,
                'T' => 40,
                _ => {
                    return Err(format!(
                        "unknown size suffix in {text:?} (use K, M, G or T)"
                    ))
                }
            };
            (&text[..i], shift)
        }
        _ => (text, 0),
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("bad size {text:?}: expected a number with an optional K/M/G/T"))?;
    n.checked_mul(1 << shift)
        .ok_or_else(|| format!("size {text:?} is too large"))
}

/// Formats a UUID in the usual 8-4-4-4-12 form.
pub fn uuid_string(uuid: &[u8; 16]) -> String {
    let hex: Vec<String> = uuid.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        hex[..4].concat(),
        hex[4..6].concat(),
        hex[6..8].concat(),
        hex[8..10].concat(),
        hex[10..].concat()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_and_without_suffix() {
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("64K"), Ok(64 << 10));
        assert_eq!(parse_size("8m"), Ok(8 << 20));
        assert_eq!(parse_size("2G"), Ok(2 << 30));
        assert_eq!(parse_size("1T"), Ok(1 << 40));
        assert!(parse_size("12X").is_err());
        assert!(parse_size("M").is_err());
        assert!(parse_size("-1").is_err());
        assert!(parse_size("99999999999999999999").is_err());
        assert!(parse_size("17179869184G").is_err());
    }

    #[test]
    fn uuids_are_version_4_and_differ() {
        let a = random_uuid();
        let b = random_uuid();
        assert_ne!(a, b);
        assert_eq!(a[6] >> 4, 4);
        assert_eq!(uuid_string(&a).len(), 36);
    }
}
