//! Running the daemon in a municipality's IT (issue 21, items 7, 15, 16 and 23): the data
//! folder's permissions, what `check-config` catches, the start-up line, and logins the mail
//! servers refuse — over the real Dovecot and SMTP relay on 127.0.0.1.

use std::path::Path;
use std::process::Command;

use crate::support::{Sandbox, code, stderr, stdout};

/// The unprivileged user the permission tests run the binary as when the tests run as root
/// (root may write anywhere): `nobody`.
const NOBODY: u32 = 65534;

fn running_as_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// `command`, run as an unprivileged user: `nobody` under root, the test's own user otherwise.
fn unprivileged(mut command: Command) -> Command {
    use std::os::unix::process::CommandExt;
    if running_as_root() {
        // SAFETY: setgroups, setgid and setuid are async-signal-safe, as pre_exec requires.
        unsafe {
            command.pre_exec(|| {
                if libc::setgroups(0, std::ptr::null()) != 0 || libc::setgid(NOBODY) != 0 || libc::setuid(NOBODY) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    command
}

fn chmod(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

/// Gives `path` to the user [`unprivileged`] runs as.
fn give_to_unprivileged(path: &Path) {
    if running_as_root() {
        std::os::unix::fs::chown(path, Some(NOBODY), Some(NOBODY)).expect("chown");
    }
    chmod(path, 0o755);
}

/// A sandbox whose folder the unprivileged user can read (but not write): its config.toml
/// keeps everything under `var/`.
fn readable_sandbox() -> Sandbox {
    let sandbox = Sandbox::with_config("[helpdesk]\ndata_dir = \"var\"\n");
    chmod(sandbox.root(), 0o555);
    chmod(&sandbox.path("config.toml"), 0o644);
    sandbox
}

/// Issue 21, item 16: a data folder the daemon's user may not write ended it with exit 70 and
/// a SQLite error. It is 77 (not permitted), naming the folder, the user and the fix, or 73
/// when the folder cannot be created; `check-config` says the same before the first start.
#[test]
fn a_data_folder_the_user_may_not_write_is_exit_77_or_73_never_70() {
    let sandbox = readable_sandbox();
    let var = sandbox.path("var");
    // Missing, and its parent is not writable: it cannot be created.
    for args in [&["run", "--once"][..], &["check-config"][..]] {
        let out = unprivileged(sandbox.command(args)).output().expect("run");
        assert_eq!(code(&out), 73, "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains(&format!("cannot create {}", var.display())) && stderr(&out).contains("install -d"),
            "{}",
            stderr(&out)
        );
    }
    // There, but another user's.
    chmod(sandbox.root(), 0o755);
    std::fs::create_dir(&var).expect("mkdir");
    chmod(&var, 0o555);
    chmod(sandbox.root(), 0o555);
    for args in [&["run", "--once"][..], &["check-config"][..]] {
        let out = unprivileged(sandbox.command(args)).output().expect("run");
        assert_eq!(code(&out), 77, "{args:?}: {}", stderr(&out));
        let said = stderr(&out);
        assert!(
            said.contains(&format!(
                "{} is not writable by the user running sportello",
                var.display()
            )) && said.contains("chown -R")
                && said.contains("[helpdesk] data_dir"),
            "{said}"
        );
    }
    // Its folder given to the user, but a database left behind by a command run as root.
    give_to_unprivileged(&var);
    std::fs::write(var.join("sportello.db"), b"").expect("write");
    chmod(&var.join("sportello.db"), 0o444);
    let out = unprivileged(sandbox.command(&["run", "--once"])).output().expect("run");
    assert_eq!(code(&out), 77, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("sportello.db cannot be read and written"),
        "{}",
        stderr(&out)
    );
    std::fs::remove_file(var.join("sportello.db")).expect("rm");
    // Fixed: the daemon starts.
    let out = unprivileged(sandbox.command(&["run", "--once"])).output().expect("run");
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let out = unprivileged(sandbox.command(&["check-config"])).output().expect("run");
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stdout(&out).contains("valid"), "{}", stdout(&out));
    // So that the sandbox can be removed.
    chmod(sandbox.root(), 0o755);
}
