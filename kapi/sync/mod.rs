// SPDX-License-Identifier: GPL-2.0

//! The C synchronisation primitives that tsfs's own locks are built from, and the
//! one they are measured against: lockdep maps, wait queues, a mutex with a
//! try-lock, and the rwsem.

pub(crate) mod lockdep;
pub(crate) mod mutex;
pub(crate) mod rwsem;
pub(crate) mod wait;
