//! tsfs on-disk format, shared by the kernel module and the userspace tools.
//!
//! This file must stay `#![no_std]`-clean: the kernel crate includes it by path.
//! Everything on disk is little-endian.
//!
//! Placeholder until the filesystem lands: only the super block's identity and
//! its checksum are defined.

/// Magic number at the start of the super block ("TSFS" + format generation).
pub const TSFS_MAGIC: u32 = 0x5453_4653;
/// The only block size tsfs uses.
pub const BLOCK_SIZE: u32 = 4096;

/// CRC-32C (Castagnoli), bitwise: used for metadata checksums on both sides.
pub const fn crc32c(seed: u32, data: &[u8]) -> u32 {
    let mut crc = !seed;
    let mut i = 0;
    while i < data.len() {
        crc ^= data[i] as u32;
        let mut k = 0;
        while k < 8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0x82F6_3B78
            } else {
                crc >> 1
            };
            k += 1;
        }
        i += 1;
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32c_known_vector() {
        // The standard check value of CRC-32C over "123456789".
        assert_eq!(crc32c(0, b"123456789"), 0xE306_9283);
    }

    #[test]
    fn crc32c_detects_a_flipped_bit() {
        let mut buf = [0u8; 64];
        let a = crc32c(0, &buf);
        buf[17] ^= 0x10;
        assert_ne!(a, crc32c(0, &buf));
    }
}
