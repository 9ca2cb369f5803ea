fn main() -> std::process::ExitCode {
    fixed_mmap_threshold();
    private_files();
    hienmau_api::cli::main()
}

/// Every file and folder the process creates (the SQLite database, its WAL and SHM, secrets,
/// spooled exports, backups) is for its owner only: umask 077 before anything is created.
#[cfg(unix)]
fn private_files() {
    // SAFETY: umask only sets the process's file-creation mask; it cannot fail.
    unsafe {
        libc::umask(0o077);
    }
}

#[cfg(not(unix))]
fn private_files() {}

/// glibc raises its mmap threshold to the size of each large block freed, up to 32 MiB; after
/// the first sign-in, every argon2 block (19 MiB) then comes from the heap of whichever thread
/// hashes and stays resident there: a flood of sign-ins grew the server from 25 MB to 180 MB.
/// A fixed threshold keeps such blocks mapped and returns them to the system when freed.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn fixed_mmap_threshold() {
    // SAFETY: mallopt only sets an allocator parameter; it is called before any other thread
    // exists. 128 KiB is glibc's own default.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn fixed_mmap_threshold() {}
