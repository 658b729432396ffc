//! How a scenario fails: a check that did not hold (exit 1) or a fixture that could not
//! be set up (exit 2). Timeouts (exit 3) are the alarm's business (see `sys::arm_alarm`).

use std::fmt;

/// Why a scenario stopped.
#[derive(Debug)]
pub enum Fail {
    /// The IO under test returned the wrong count or error, or the data is wrong.
    Check(String),
    /// The fixture (file, mapping, thread) could not be set up; nothing was tested.
    Setup(String),
}

impl Fail {
    pub fn exit_code(&self) -> i32 {
        match self {
            Fail::Check(_) => 1,
            Fail::Setup(_) => 2,
        }
    }
}

impl fmt::Display for Fail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fail::Check(m) => write!(f, "FAILED: {m}"),
            Fail::Setup(m) => write!(f, "setup error: {m}"),
        }
    }
}

pub type Res<T = ()> = Result<T, Fail>;

/// Builds a `Fail::Check` from a format string: `Err(check!("page {p} wrong"))`.
macro_rules! check {
    ($($arg:tt)*) => {
        $crate::fail::Fail::Check(format!($($arg)*))
    };
}
pub(crate) use check;

/// Attaches what was being done to an error, as a setup failure or as a failed check.
pub trait Context<T> {
    fn setup(self, what: impl fmt::Display) -> Res<T>;
    fn checked(self, what: impl fmt::Display) -> Res<T>;
}

impl<T, E: fmt::Display> Context<T> for Result<T, E> {
    fn setup(self, what: impl fmt::Display) -> Res<T> {
        self.map_err(|e| Fail::Setup(format!("{what}: {e}")))
    }
    fn checked(self, what: impl fmt::Display) -> Res<T> {
        self.map_err(|e| Fail::Check(format!("{what}: {e}")))
    }
}
