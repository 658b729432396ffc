//! `mkfs.tsfs [-f] [-q] [-N inodes] [-s size] DEVICE_OR_FILE`: make a tsfs.
//!
//! Exit status as mkfs(8): 0 on success, 1 on any failure (usage included).

use std::fs::{self, OpenOptions};
use std::io;
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;
use tsfs::device::Device;
use tsfs::format::{BLOCK_SIZE, FORMAT_VERSION};
use tsfs::mkfs::{format_device, parse_size, random_uuid, uuid_string};

/// Make a tsfs file system on a block device or an image file.
#[derive(Parser, Debug)]
#[command(name = "mkfs.tsfs", bin_name = "mkfs.tsfs", version)]
struct Args {
    /// Format even if DEVICE appears in /proc/self/mounts (mounted).
    #[arg(short = 'f', long = "force")]
    force: bool,
    /// Print nothing on success.
    #[arg(short = 'q', long = "quiet")]
    quiet: bool,
    /// Number of inodes (rounded up to a whole inode table block); default one
    /// per 16 KiB of device.
    #[arg(short = 'N', long = "inodes", value_name = "COUNT")]
    inodes: Option<u64>,
    /// File system size in bytes, with an optional K/M/G/T suffix. An image
    /// file is created or extended to this size; default: the whole device.
    #[arg(short = 's', long = "size", value_name = "SIZE", value_parser = parse_size)]
    size: Option<u64>,
    /// File system type, as `mkfs -t tsfs` may pass it; must be "tsfs".
    #[arg(short = 't', long = "type", hide = true)]
    fs_type: Option<String>,
    /// Block device or image file.
    device: PathBuf,
}

fn main() -> ExitCode {
    let args = match Args::try_parse() {
        Ok(args) => args,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 1 } else { 0 });
        }
    };
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mkfs.tsfs: {}: {e}", args.device.display());
            ExitCode::from(1)
        }
    }
}

fn run(args: &Args) -> io::Result<()> {
    if let Some(t) = args.fs_type.as_deref().filter(|t| *t != "tsfs") {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("this mkfs makes tsfs, not {t}"),
        ));
    }
    if !args.force && is_mounted(&args.device) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "is mounted (use -f to format anyway)",
        ));
    }
    let dev = open_target(&args.device, args.size)?;
    let uuid = random_uuid();
    let geom = format_device(&dev, args.inodes.unwrap_or(0), uuid)?;
    if !args.quiet {
        println!(
            "{}: tsfs version {FORMAT_VERSION}, {} blocks of {BLOCK_SIZE} bytes, {} inodes, \
             {} data blocks from block {}, uuid {}",
            args.device.display(),
            geom.total_blocks,
            geom.inode_count,
            geom.data_blocks(),
            geom.first_data_block,
            uuid_string(&uuid)
        );
    }
    Ok(())
}

/// Opens the target for writing. An image file is created or grown to `size`;
/// the device handed back is `size` bytes long when a size is given.
fn open_target(path: &Path, size: Option<u64>) -> io::Result<Device> {
    let is_block_device = fs::metadata(path).is_ok_and(|m| m.file_type().is_block_device());
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(size.is_some() && !is_block_device)
        .truncate(false)
        .open(path)?;
    let dev = Device::from_file(file.try_clone()?)?;
    let Some(size) = size else {
        return Ok(dev);
    };
    if dev.len() < size {
        if is_block_device {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "device holds {} bytes, less than the {size} asked for",
                    dev.len()
                ),
            ));
        }
        file.set_len(size)?;
    }
    Device::from_file(file).map(|d| d.limited_to(size))
}

/// Whether `path` is the source of a mount (compared as canonical paths).
fn is_mounted(path: &Path) -> bool {
    let Ok(target) = fs::canonicalize(path) else {
        return false;
    };
    let Ok(mounts) = fs::read_to_string("/proc/self/mounts") else {
        return false;
    };
    mounts
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .filter(|source| source.starts_with('/'))
        .any(|source| fs::canonicalize(source).is_ok_and(|s| s == target))
}
