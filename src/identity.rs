//! Who is acting: the OS login of the process, from its uid (never from an environment variable,
//! which anyone can set).

use nix::unistd::{Uid, User};

pub fn current_login() -> String {
    let uid = Uid::current();
    match User::from_uid(uid) {
        Ok(Some(user)) => user.name,
        // A uid without a passwd entry (containers): still unique, still auditable.
        _ => format!("uid-{uid}"),
    }
}
