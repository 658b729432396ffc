//! Block I/O on an image file or a block device, in tsfs blocks.

use std::fs::{File, OpenOptions};
use std::io::{self, Seek, SeekFrom};
use std::os::unix::fs::FileExt;
use std::path::Path;

use crate::format::{BLOCK_BYTES, BLOCK_SHIFT};

/// An open image file or block device.
#[derive(Debug)]
pub struct Device {
    file: File,
    len: u64,
}

impl Device {
    /// Opens `path`, read-only unless `writable`.
    pub fn open(path: &Path, writable: bool) -> io::Result<Self> {
        let file = OpenOptions::new().read(true).write(writable).open(path)?;
        Self::from_file(file)
    }

    /// Wraps an open file. Its length is found by seeking to the end, which
    /// works for block devices too.
    pub fn from_file(mut file: File) -> io::Result<Self> {
        let len = file.seek(SeekFrom::End(0))?;
        Ok(Self { file, len })
    }

    /// The same device seen as at most `len` bytes long (a file system
    /// smaller than its device).
    pub fn limited_to(mut self, len: u64) -> Self {
        self.len = self.len.min(len);
        self
    }

    /// Length in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the device has no bytes at all.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Reads `count` blocks from block `start`.
    pub fn read_blocks(&self, start: u64, count: u64) -> io::Result<Vec<u8>> {
        let bytes = usize::try_from(count)
            .ok()
            .and_then(|c| c.checked_mul(BLOCK_BYTES))
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "read too large"))?;
        let mut buf = vec![0u8; bytes];
        self.file.read_exact_at(&mut buf, offset_of(start)?)?;
        Ok(buf)
    }

    /// Reads block `block`.
    pub fn read_block(&self, block: u64) -> io::Result<Vec<u8>> {
        self.read_blocks(block, 1)
    }

    /// Writes `data` (whole blocks) at block `start`.
    pub fn write_blocks(&self, start: u64, data: &[u8]) -> io::Result<()> {
        if data.len() % BLOCK_BYTES != 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "write of a partial block",
            ));
        }
        self.file.write_all_at(data, offset_of(start)?)
    }

    /// Writes `count` zeroed blocks from block `start`, a megabyte at a time.
    pub fn zero_blocks(&self, start: u64, count: u64) -> io::Result<()> {
        const CHUNK: u64 = 256;
        let zeros = vec![0u8; CHUNK as usize * BLOCK_BYTES];
        let mut done = 0;
        while done < count {
            let n = (count - done).min(CHUNK);
            self.write_blocks(start + done, &zeros[..n as usize * BLOCK_BYTES])?;
            done += n;
        }
        Ok(())
    }

    /// Flushes written data to stable storage.
    pub fn sync(&self) -> io::Result<()> {
        self.file.sync_all()
    }
}

fn offset_of(block: u64) -> io::Result<u64> {
    block
        .checked_mul(1 << BLOCK_SHIFT)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "block number too large"))
}
