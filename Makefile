# tsfs: user-facing targets. The module itself is built by Kbuild (see ./Kbuild)
# through `make -C $(KDIR) M=$(CURDIR)`; KDIR defaults to the cached test kernel.
#
#   make            build tsfs.ko (and the test kernel first, if missing)
#   make CLIPPY=1   the same, with clippy on the Rust code
#   make run        boot the VM, mount tsfs, run the self-mmap DIO demonstration
#   make test       every test, host and guest; last line "N passed, M failed"
#   make bench      the benchmarks, as ratios from one run
#   make xfstests   upstream xfstests on tsfs in the VM, with a results table
#                   (TESTS="generic/729 ...", BASELINE=1 for the ext4 column,
#                   XFSTESTS_DIR=/path/to/xfstests; see xfstests/README.md)
#   make clean      remove build outputs (not the cached kernel)

.PHONY: all module run test bench xfstests fmt clean

all: module

module:
	@KDIR="$${KDIR:-$$(scripts/kernel-build)}" && \
	  $(MAKE) -C "$$KDIR" M="$(CURDIR)" modules

run:
	@scripts/run

test:
	@scripts/test

bench:
	@scripts/bench

xfstests:
	@TESTS="$(TESTS)" BASELINE="$(BASELINE)" XFSTESTS_DIR="$(XFSTESTS_DIR)" \
	  FSTYP="$(FSTYP)" scripts/xfstests

clean:
	@KDIR="$$(. scripts/lib.sh && kernel_build_dir)"; \
	  if [ -d "$$KDIR" ]; then $(MAKE) -C "$$KDIR" M="$(CURDIR)" clean; fi
	rm -rf build
