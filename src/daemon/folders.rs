//! Whether the user running sportello may use the folders its configuration names (the data
//! folder and the files in it, the local Maildir, the file outbox), checked before anything
//! is written so that a permission problem is said with the folder, the user and the fix, and
//! ends with sysexits' 77 (not permitted) or 73 (cannot create), never 70 (a software error).

use std::path::Path;

use crate::config::{Config, Mailbox, Smtp};
use crate::exit::{self, Failure};
use crate::store;

/// Files of the data folder the daemon opens for writing.
const DATA_FILES: [&str; 5] = [
    "sportello.db",
    "sportello.db-wal",
    "sportello.db-shm",
    "secret.key",
    "daemon.lock",
];

/// Whether the running user may use the folders the configuration names: the data folder
/// and the files already in it (a `sportello init` run as root leaves them to root), the
/// local Maildir, the file outbox; a folder that does not exist yet must be creatable. Checked
/// before anything is written, so that the failure names the folder, the user and the fix
/// instead of a SQLite error, with sysexits' codes: 77 (not permitted) or 73 (cannot create).
pub fn check_data_dir(config: &Config) -> Result<(), Failure> {
    let data_dir = &config.helpdesk.data_dir;
    check_folder(data_dir, "[helpdesk] data_dir")?;
    let data_dir = &std::path::absolute(data_dir).unwrap_or_else(|_| data_dir.to_path_buf());
    for name in DATA_FILES {
        let file = data_dir.join(name);
        if file.exists() {
            permitted(&file, libc::R_OK | libc::W_OK).map_err(|e| {
                let user = RunningUser::get();
                Failure::new(
                    exit::NOPERM,
                    anyhow::anyhow!(
                        "{} cannot be read and written by the user running sportello ({user}): {e}. It belongs \
                         to another user (was `sportello init` or a command run as root?): give the data \
                         folder to this user, e.g. `chown -R {}: {}`",
                        file.display(),
                        user.owner(),
                        data_dir.display()
                    ),
                )
            })?;
        }
    }
    if let Mailbox::Maildir { path } = &config.mailbox {
        check_folder(path, "[mailbox] path")?;
    }
    if let Smtp::File { path } = &config.smtp {
        check_folder(path, "[smtp] path")?;
    }
    Ok(())
}

/// One folder of [`check_data_dir`]; `key` is the configuration key that names it.
fn check_folder(dir: &Path, key: &str) -> Result<(), Failure> {
    // Absolute, so that a relative data_dir's parent is the current folder, and the message
    // names the folder wherever the command was started.
    let dir = &std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    let user = RunningUser::get();
    let owner = user.owner();
    match std::fs::metadata(dir) {
        Ok(meta) if !meta.is_dir() => Err(Failure::new(
            exit::CANTCREAT,
            anyhow::anyhow!("{} is not a folder: set {key} to a folder", dir.display()),
        )),
        Ok(_) => permitted(dir, libc::R_OK | libc::W_OK | libc::X_OK).map_err(|e| {
            if e.raw_os_error() == Some(libc::EROFS) {
                Failure::new(
                    exit::CANTCREAT,
                    anyhow::anyhow!(
                        "{} is on a read-only file system: mount it writable (under systemd, list it in \
                         ReadWritePaths=) or set {key} to another folder",
                        dir.display()
                    ),
                )
            } else {
                Failure::new(
                    exit::NOPERM,
                    anyhow::anyhow!(
                        "{} is not writable by the user running sportello ({user}): {e}. Give it to this \
                         user (`chown -R {owner}: {}`) or set {key} to a folder it owns",
                        dir.display(),
                        dir.display()
                    ),
                )
            }
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            // The nearest folder that exists must let this user create the rest.
            let Some(parent) = dir.ancestors().skip(1).find(|a| a.exists()) else {
                return Ok(());
            };
            permitted(parent, libc::W_OK | libc::X_OK).map_err(|e| {
                Failure::new(
                    exit::CANTCREAT,
                    anyhow::anyhow!(
                        "cannot create {}: {} is not writable by the user running sportello ({user}): {e}. \
                         Create the folder for this user (`install -d -o {owner} -m 0750 {}`) or set {key} to \
                         a folder it owns",
                        dir.display(),
                        parent.display(),
                        dir.display()
                    ),
                )
            })
        }
        Err(e) => Err(Failure::new(
            exit::NOPERM,
            anyhow::anyhow!(
                "{} cannot be reached by the user running sportello ({user}): {e}. Let this user through \
                 the folders above it, or set {key} to a folder it owns",
                dir.display()
            ),
        )),
    }
}

/// Whether the running user (its effective ids) may access `path` with `mode`.
fn permitted(path: &Path, mode: libc::c_int) -> std::io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let c_path = std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidInput, "a path with a NUL byte"))?;
    // SAFETY: `c_path` is a valid NUL-terminated string that outlives the call; faccessat only
    // reads it.
    let answer = unsafe { libc::faccessat(libc::AT_FDCWD, c_path.as_ptr(), mode, libc::AT_EACCESS) };
    if answer == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// The user this process runs as, for the messages of [`check_data_dir`].
struct RunningUser {
    uid: u32,
    /// From /etc/passwd, when it is there.
    name: Option<String>,
}

impl RunningUser {
    fn get() -> RunningUser {
        // SAFETY: geteuid has no preconditions and cannot fail.
        let uid = unsafe { libc::geteuid() };
        let name = std::fs::read_to_string("/etc/passwd").ok().and_then(|text| {
            text.lines().find_map(|line| {
                let mut fields = line.split(':');
                let name = fields.next()?;
                (fields.nth(1)? == uid.to_string()).then(|| name.to_string())
            })
        });
        RunningUser { uid, name }
    }

    /// The name `chown` and `install -o` take: the user's, or its uid.
    fn owner(&self) -> String {
        self.name.clone().unwrap_or_else(|| self.uid.to_string())
    }
}

impl std::fmt::Display for RunningUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.name {
            Some(name) => write!(f, "{name}, uid {}", self.uid),
            None => write!(f, "uid {}", self.uid),
        }
    }
}

/// A folder or file of the data folder that could not be created or opened: not permitted
/// (77) or cannot create (73), never a software error; a full disk keeps its own words.
pub(super) fn folder_failure(error: anyhow::Error) -> Failure {
    if store::is_disk_full(&error) {
        return Failure::from(error);
    }
    let kind = error
        .chain()
        .find_map(|cause| cause.downcast_ref::<std::io::Error>())
        .map(std::io::Error::kind);
    match kind {
        Some(std::io::ErrorKind::PermissionDenied) => Failure::new(exit::NOPERM, error),
        Some(_) => Failure::new(exit::CANTCREAT, error),
        None => Failure::from(error),
    }
}
