//! The file descriptor budget. Every connection holds one descriptor; running out makes
//! `accept` fail for everyone (health checks included) until connections close. `serve`
//! raises the soft `RLIMIT_NOFILE` to the hard limit at start, and the connection cap is
//! clamped below the soft limit so the cap, not the kernel, refuses connections.

/// Descriptors kept out of the connection budget: the listener, the database and its
/// readers, logs, and refusals being answered.
pub const FD_RESERVE: u64 = 256;

/// Highest soft limit asked for when the hard limit is unlimited (Linux's default
/// `fs.nr_open`).
#[cfg(unix)]
const UNLIMITED_TARGET: u64 = 1 << 20;

/// Raises the soft `RLIMIT_NOFILE` to the hard limit. Returns the soft limit in force
/// afterwards (`None`: unlimited or unknown).
#[cfg(unix)]
pub fn raise_fd_limit() -> std::io::Result<Option<u64>> {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let now = getrlimit(Resource::Nofile);
    let target = now.maximum.unwrap_or(UNLIMITED_TARGET);
    if now.current.is_some_and(|soft| soft < target) {
        setrlimit(
            Resource::Nofile,
            Rlimit {
                current: Some(target),
                maximum: now.maximum,
            },
        )?;
    }
    Ok(getrlimit(Resource::Nofile).current)
}

/// Raises the soft `RLIMIT_NOFILE` to the hard limit (not on this platform).
#[cfg(not(unix))]
pub fn raise_fd_limit() -> std::io::Result<Option<u64>> {
    Ok(None)
}

/// The soft `RLIMIT_NOFILE` now (`None`: unlimited or unknown).
pub fn fd_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        rustix::process::getrlimit(rustix::process::Resource::Nofile).current
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// How many connections the descriptor limit leaves room for (`None`: no limit known).
pub fn fd_budget() -> Option<usize> {
    fd_limit()
        .map(|soft| usize::try_from(soft.saturating_sub(FD_RESERVE).max(1)).unwrap_or(usize::MAX))
}
