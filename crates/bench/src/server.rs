//! The real server: the release `hienmau` binary as a child process on a free loopback port,
//! and its resident memory from `/proc/<pid>/status`.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::BenchError;

/// The signing secret the benchmark's server uses (PostgreSQL requires one).
pub const JWT_SECRET: &str = "hienmau-bench-secret-0123456789abcdefghijklmnop";

/// The audit key the benchmark's server uses (PostgreSQL requires one).
pub const AUDIT_KEY: &str = "hienmau-bench-audit-key-ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210";

/// Where the `hienmau` binary is: given, else beside this one (target/release).
pub fn locate_binary(given: Option<&Path>) -> Result<PathBuf, BenchError> {
    if let Some(p) = given {
        return Ok(p.to_owned());
    }
    let me = std::env::current_exe()?;
    let beside = me.with_file_name("hienmau");
    if beside.exists() {
        return Ok(beside);
    }
    Err(BenchError::msg(format!(
        "no hienmau binary beside {}: build it with `cargo build --release -p hienmau-api` \
         or pass --server-bin",
        me.display()
    )))
}

/// A free loopback port (bound and released; the server binds it right after).
pub fn free_port() -> Result<u16, BenchError> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn command(bin: &Path, database_url: &str, bind: &str, log: &str) -> Command {
    let mut c = Command::new(bin);
    c.env("DATABASE_URL", database_url)
        .env("HIENMAU_BIND", bind)
        .env("HIENMAU_JWT_SECRET", JWT_SECRET)
        .env("HIENMAU_AUDIT_KEY", AUDIT_KEY)
        .env("HIENMAU_CONFIG", "/nonexistent/hienmau-bench.toml")
        .env("RUST_LOG", log);
    c
}

/// `hienmau user create --username … --role admin`, the password on standard input.
pub fn create_admin(
    bin: &Path,
    database_url: &str,
    username: &str,
    password: &str,
) -> Result<(), BenchError> {
    let mut child = command(bin, database_url, "127.0.0.1:0", "warn")
        .args(["user", "create", "--username", username, "--role", "admin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    if let Some(mut stdin) = child.stdin.take() {
        writeln!(stdin, "{password}")?;
    }
    let out = child.wait_with_output()?;
    if !out.status.success() {
        return Err(BenchError::msg(format!(
            "hienmau user create: {}",
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    Ok(())
}

/// A running server.
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The address.
    pub addr: String,
}

impl Server {
    /// Starts `hienmau serve` and waits until `/health` answers.
    pub fn start(
        bin: &Path,
        database_url: &str,
        log_file: &Path,
        log_level: &str,
        extra_env: &[(String, String)],
    ) -> Result<Self, BenchError> {
        let port = free_port()?;
        let addr = format!("127.0.0.1:{port}");
        let log = std::fs::File::create(log_file)?;
        let mut cmd = command(bin, database_url, &addr, log_level);
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        let child = cmd
            .arg("serve")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()?;
        let mut server = Server {
            child,
            base: format!("http://{addr}"),
            addr,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = server.child.try_wait()? {
                return Err(BenchError::msg(format!(
                    "the server exited ({status}); see {}",
                    log_file.display()
                )));
            }
            if health(&server.addr) {
                return Ok(server);
            }
            if Instant::now() > deadline {
                server.stop();
                return Err(BenchError::msg("the server did not answer /health in 60 s"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// How the server ended, if it has (it should not during a run).
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// The child's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Resident memory now, in KiB.
    pub fn rss_kib(&self) -> u64 {
        status_kib(self.pid(), "VmRSS:")
    }

    /// Peak resident memory so far, in KiB.
    pub fn peak_rss_kib(&self) -> u64 {
        status_kib(self.pid(), "VmHWM:")
    }

    /// Stops the server (this child only).
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

fn health(addr: &str) -> bool {
    let Ok(mut s) = TcpStream::connect(addr) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    if s.write_all(b"GET /health HTTP/1.0\r\nHost: localhost\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut buf = [0u8; 64];
    let n = s.read(&mut buf).unwrap_or(0);
    buf[..n].starts_with(b"HTTP/1.0 200") || buf[..n].starts_with(b"HTTP/1.1 200")
}

/// A `/proc/<pid>/status` field in KiB (0 when unreadable).
pub fn status_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with(field)).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|n| n.parse::<u64>().ok())
            })
        })
        .unwrap_or(0)
}

/// Samples a process's resident memory every 10 ms until stopped; keeps the highest.
pub struct RssSampler {
    stop: Arc<AtomicBool>,
    peak: Arc<AtomicU64>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl RssSampler {
    /// Starts sampling `pid`.
    pub fn start(pid: u32) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let peak = Arc::new(AtomicU64::new(status_kib(pid, "VmRSS:")));
        let (s, p) = (stop.clone(), peak.clone());
        let handle = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                p.fetch_max(status_kib(pid, "VmRSS:"), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(10));
            }
        });
        RssSampler {
            stop,
            peak,
            handle: Some(handle),
        }
    }

    /// Stops and returns the highest sample, in KiB.
    pub fn finish(mut self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
        self.peak.load(Ordering::Relaxed)
    }
}
