// SPDX-License-Identifier: GPL-2.0

//! `TwoStateLock`: a sleeping lock with two shared, mutually exclusive states.
