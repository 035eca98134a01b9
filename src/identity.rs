//! Who and where: this machine's name (in the process registry) and the
//! operator acting (recorded on every row an operator changes). Depends on
//! nothing else in the crate.

/// This machine's name.
pub fn host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

/// Who is acting, recorded on rows an operator changes: `user@host`. The
/// user is the effective one from the password database — cron, systemd
/// and `docker exec` often set no `$USER` — then `$USER`/`$LOGNAME`, then
/// the bare uid; under sudo, who ran sudo is added: `root (sudo by alice)@db1`.
pub fn actor() -> String {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
    // SAFETY: geteuid cannot fail and has no preconditions.
    let uid = unsafe { libc::geteuid() };
    let mut user = passwd_name(uid)
        .or_else(|| env("USER"))
        .or_else(|| env("LOGNAME"))
        .unwrap_or_else(|| format!("uid {uid}"));
    if let Some(by) = env("SUDO_USER").filter(|s| *s != user) {
        user = format!("{user} (sudo by {by})");
    }
    format!("{user}@{}", host())
}

/// The login name of `uid`, from the password database.
fn passwd_name(uid: libc::uid_t) -> Option<String> {
    let mut buf = vec![0 as libc::c_char; 4096];
    // SAFETY: an all-zero passwd is a valid value to be overwritten.
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut result: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: every pointer is valid for the call, buf outlives the result.
    let rc = unsafe { libc::getpwuid_r(uid, &mut pwd, buf.as_mut_ptr(), buf.len(), &mut result) };
    if rc != 0 || result.is_null() || pwd.pw_name.is_null() {
        return None;
    }
    // SAFETY: pw_name points into buf, NUL-terminated by getpwuid_r.
    let name = unsafe { std::ffi::CStr::from_ptr(pwd.pw_name) };
    Some(name.to_string_lossy().into_owned()).filter(|n| !n.is_empty())
}
