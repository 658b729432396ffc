// SPDX-License-Identifier: GPL-2.0

//! `TwoStateLock`: a sleeping lock with two shared, mutually exclusive states,
//! *add* and *block*, with lockdep support and a fairness gate.

pub(crate) mod bench;
mod handoff;
mod harness;
mod lock;
pub(crate) mod owners;
// Shared with the userspace model (src/lock_model.rs), which uses all of it.
#[allow(dead_code, unreachable_pub)]
pub(crate) mod protocol;
pub(crate) mod selftest;
// Shared with the userspace model (src/lock_model.rs), which uses all of it.
#[allow(dead_code, unreachable_pub)]
pub(crate) mod state;
pub(crate) mod stats;

pub(crate) use handoff::{Handoff, LockHome};
#[allow(unused_imports)]
pub(crate) use lock::{lock_two, Guard, TwoStateLock};
#[allow(unused_imports)]
pub(crate) use state::{GateMode, State};
pub(crate) use stats::Stats;
