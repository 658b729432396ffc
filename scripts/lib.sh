# Common settings for the tsfs scripts. Source it; it defines paths and helpers only.
# shellcheck shell=bash

TSFS_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# The kernel cache lives outside the repository so fresh clones (and CI) reuse it.
TSFS_CACHE=${TSFS_CACHE:-/var/cache/tsfs}
KERNEL_PKG=linux-source-6.12
KERNEL_TARBALL=/usr/src/linux-source-6.12.tar.xz
BINDGEN_VERSION=0.73.2
# Which kernel: "test" (lockdep and debug checks on; what tests run on) or "bench"
# (the same with lockdep and debug checks off, for fair lock timings). A variant's
# fragment, scripts/kernel/VARIANT.config, is merged after tsfs.config.
KERNEL_VARIANT=${KERNEL_VARIANT:-test}

export PATH="$HOME/.cargo/bin:$PATH"

say() { printf '\033[1m[tsfs]\033[0m %s\n' "$*" >&2; }
die() { printf '[tsfs] error: %s\n' "$*" >&2; exit 1; }

# The cache key: everything that changes what the kernel build produces or what a
# module built against it must match (config fragment, patches, kernel source
# version, and the Rust toolchain, since modules must use the kernel's rustc).
kernel_fragments() {
    echo "$TSFS_ROOT/scripts/kernel/tsfs.config"
    [ "$KERNEL_VARIANT" = test ] || echo "$TSFS_ROOT/scripts/kernel/$KERNEL_VARIANT.config"
}

kernel_key() {
    {
        # shellcheck disable=SC2046
        cat $(kernel_fragments)
        cat "$TSFS_ROOT"/scripts/kernel/*.patch 2>/dev/null
        dpkg-query -W -f='${Version}\n' "$KERNEL_PKG" 2>/dev/null
        rustc --version
        bindgen --version 2>/dev/null
    } | sha256sum | cut -c1-16
}

kernel_dir() { echo "$TSFS_CACHE/kernel-$(kernel_key)"; }
# The build tree (O=) that modules are built against and whose bzImage boots.
kernel_build_dir() { echo "$(kernel_dir)/build"; }
