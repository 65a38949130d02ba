//! How a command ends: the sysexits(3) codes and [`Failure`], an error with its code.
//!
//! Shared by the CLI and the daemon (which returns a `Failure` when it must stop); owns no
//! behaviour beyond mapping an error to its code.

/// Success.
pub const OK: u8 = 0;
/// Command line usage error.
pub const USAGE: u8 = 64;
/// Input data was incorrect (an unreadable message, an unknown ticket).
pub const DATAERR: u8 = 65;
/// Internal software error.
pub const SOFTWARE: u8 = 70;
/// Temporary failure: retry later (database busy, daemon already running, server down).
pub const TEMPFAIL: u8 = 75;
/// Cannot open an input file.
pub const NOINPUT: u8 = 66;
/// An output file or folder cannot be created (the data folder, its parent not writable).
pub const CANTCREAT: u8 = 73;
/// Not permitted: the running user may not use the data folder (it belongs to another user).
pub const NOPERM: u8 = 77;
/// Configuration error.
pub const CONFIG: u8 = 78;
/// `auth-check`: the mail's commands would not be honoured.
pub const NOT_AUTHENTICATED: u8 = 1;

/// A failure with the exit code it maps to.
#[derive(Debug)]
pub struct Failure {
    /// sysexits code.
    pub code: u8,
    /// What went wrong.
    pub error: anyhow::Error,
}

impl Failure {
    /// A failure with an explicit exit code.
    pub fn new(code: u8, error: impl Into<anyhow::Error>) -> Failure {
        Failure {
            code,
            error: error.into(),
        }
    }
}

impl From<anyhow::Error> for Failure {
    fn from(error: anyhow::Error) -> Failure {
        // A busy or locked database or a full disk is worth retrying; anything else is a software error.
        let busy = error.chain().any(|cause| {
            matches!(
                cause.downcast_ref::<rusqlite::Error>(),
                Some(rusqlite::Error::SqliteFailure(e, _))
                    if matches!(e.code, rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
            )
        });
        if crate::store::is_disk_full(&error) {
            return Failure {
                code: TEMPFAIL,
                error: error.context("the data folder is full: free some space and run again (nothing was lost)"),
            };
        }
        Failure {
            code: if busy { TEMPFAIL } else { SOFTWARE },
            error,
        }
    }
}

impl From<rusqlite::Error> for Failure {
    fn from(error: rusqlite::Error) -> Failure {
        Failure::from(anyhow::Error::from(error))
    }
}
