//! Downloads (the honors CSV), spooled then sent, so that a slow or stalled client holds
//! neither the turn at heavy work nor a database connection nor a read transaction:
//!
//! 1. **Spool.** A low-priority thread ([`crate::background`]) reads the rows on a pooled
//!    connection, in the one transaction of the use case, and writes them to an unnamed 0600
//!    temporary file (never to memory) in the spool folder ([`spool_dir`]: the SQLite
//!    database's folder, or `abuse.export_spool_dir`). When the rows are read, the connection
//!    and the caller's [`Turn`] are given back, before a byte is sent.
//! 2. **Send.** The file is sent in chunks of [`CHUNK`] with its length (`Content-Length`), read
//!    on the blocking pool. The file goes away with the response: it has no name to leave
//!    behind, even after a crash.
//! 3. **Send timeout.** A watchdog ends a download whose client takes no chunk for
//!    `abuse.export_send_timeout_ms`: it closes the connection (with a reset, dropping what the
//!    kernel still holds for the client), the server drops the body and with it the file. A
//!    stalled body cannot end itself (the server no longer asks it for bytes once its buffers
//!    are full), hence the connection's socket, recorded by [`on_connect`].
//!
//! A failure while spooling is answered as a problem (nothing has been sent yet).

use std::cell::Cell;
use std::fs::File;
use std::io::{BufWriter, Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::{Duration, Instant};

use actix_web::body::SizedStream;
use actix_web::web::{self, Bytes};
use actix_web::{HttpMessage, HttpRequest};
use futures_util::Stream;
use hienmau_db::{DbConn, DbPool, DbUrl};

use crate::app::AppError;
use crate::http::error::ApiError;
use crate::http::limits::Turn;
use crate::http::state::AppState;
use crate::settings::AbuseConfig;

/// The bytes read from the spool file and handed to the connection at a time: also the unit
/// of progress the send timeout watches (a client taking less than this per timeout is cut).
pub const CHUNK: usize = 32 * 1024;

/// The shortest send timeout accepted (a shorter one would cut ordinary downloads).
pub const MIN_SEND_TIMEOUT_MS: u64 = 1_000;

/// The folder exports are spooled to: `export_spool_dir` when set (it must exist), else the
/// SQLite database's folder (the data folder), else (PostgreSQL) the system's temporary
/// folder. An error names the setting at fault.
pub fn spool_dir(config: &AbuseConfig, url: &DbUrl) -> Result<PathBuf, String> {
    if config.export_send_timeout_ms < MIN_SEND_TIMEOUT_MS {
        return Err(format!(
            "export_send_timeout_ms: must be at least {MIN_SEND_TIMEOUT_MS}"
        ));
    }
    if let Some(dir) = &config.export_spool_dir {
        return match std::fs::metadata(dir) {
            Ok(m) if m.is_dir() => Ok(dir.clone()),
            Ok(_) => Err(format!(
                "export_spool_dir: {} is not a folder",
                dir.display()
            )),
            Err(e) => Err(format!("export_spool_dir: {}: {e}", dir.display())),
        };
    }
    Ok(match url.sqlite_path() {
        Some(db) => match db.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
            _ => PathBuf::from("."),
        },
        None => std::env::temp_dir(),
    })
}

/// Spools the body of a download, then answers it: `preamble` first, then every chunk
/// `produce` hands to its sink (which answers false once writing failed). The caller's turn
/// is taken out of the request and held only until `produce` returns.
pub async fn spooled_body<F>(
    state: &AppState,
    req: &HttpRequest,
    name: &'static str,
    preamble: Vec<u8>,
    produce: F,
) -> Result<SizedStream<impl Stream<Item = Result<Bytes, ApiError>>>, ApiError>
where
    F: FnOnce(&mut DbConn, &mut dyn FnMut(Vec<u8>) -> bool) -> Result<u64, AppError>
        + Send
        + 'static,
{
    let turn = req.extensions_mut().remove::<Turn>();
    let pool = state.pool.clone();
    let dir = state.spool_dir.clone();
    let spooled = crate::background::run(name, move || {
        spool(&pool, &dir, name, turn, &preamble, produce)
    })
    .await??;
    let timeout = Duration::from_millis(state.settings.abuse.export_send_timeout_ms);
    let watchdog = Watchdog::start(name, timeout, connection_socket(req));
    Ok(send(spooled, watchdog))
}

/// An export written to its spool file, rewound, with its length.
struct Spooled {
    file: File,
    len: u64,
}

/// Writes the download to an unnamed file in `dir`; gives the connection and `turn` back as
/// soon as the rows are read.
fn spool<F>(
    pool: &DbPool,
    dir: &Path,
    name: &'static str,
    turn: Option<Turn>,
    preamble: &[u8],
    produce: F,
) -> Result<Spooled, ApiError>
where
    F: FnOnce(&mut DbConn, &mut dyn FnMut(Vec<u8>) -> bool) -> Result<u64, AppError>,
{
    let failed = |e: std::io::Error| {
        tracing::error!(error = %e, export = name, "cannot write the export's spool file");
        ApiError::internal("the export could not be spooled")
    };
    let mut out = BufWriter::with_capacity(CHUNK, unnamed_file(dir).map_err(failed)?);
    out.write_all(preamble).map_err(failed)?;
    let mut conn = pool.get().map_err(|e| {
        tracing::warn!(error = %e, export = name, "no database connection for the export");
        ApiError::Unavailable
    })?;
    let mut write_error = None;
    let produced = produce(
        &mut conn,
        &mut |chunk: Vec<u8>| match out.write_all(&chunk) {
            Ok(()) => true,
            Err(e) => {
                write_error = Some(e);
                false
            }
        },
    );
    // The rows are read and the transaction is over: nothing below waits for the client.
    drop(conn);
    drop(turn);
    let rows = produced.map_err(|e| {
        let e = ApiError::from(e);
        tracing::error!(code = e.code(), export = name, "export failed");
        e
    })?;
    if let Some(e) = write_error {
        return Err(failed(e));
    }
    let mut file = out.into_inner().map_err(|e| failed(e.into_error()))?;
    let len = file.stream_position().map_err(failed)?;
    file.rewind().map_err(failed)?;
    tracing::info!(rows, bytes = len, export = name, "export spooled");
    Ok(Spooled { file, len })
}

/// A file without a name in `dir`, readable and writable by this user only: O_TMPFILE where
/// the file system has it (else created and unlinked at once).
fn unnamed_file(dir: &Path) -> std::io::Result<File> {
    let file = tempfile::tempfile_in(dir)?;
    // tempfile opens O_TMPFILE with the umask's mode (0644 under the usual 022); the file has
    // no name yet to be opened by, so this closes no window, it keeps one from opening later.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(file)
}

/// The spooled file as a body of known length; each chunk taken is progress for `watchdog`,
/// which lives (and watches) as long as the body.
fn send(
    spooled: Spooled,
    watchdog: Watchdog,
) -> SizedStream<impl Stream<Item = Result<Bytes, ApiError>>> {
    let Spooled { file, len } = spooled;
    let chunks = futures_util::stream::unfold(Some((file, watchdog)), |state| async move {
        let (mut file, watchdog) = state?;
        let read = web::block(move || {
            let mut buf = vec![0u8; CHUNK];
            let n = file.read(&mut buf)?;
            buf.truncate(n);
            Ok::<_, std::io::Error>((file, buf))
        })
        .await;
        match read {
            Ok(Ok((_, buf))) if buf.is_empty() => None,
            Ok(Ok((file, buf))) => {
                watchdog.progress(buf.len());
                Some((Ok(Bytes::from(buf)), Some((file, watchdog))))
            }
            Ok(Err(e)) => {
                tracing::error!(error = %e, export = watchdog.name, "cannot read the spool file");
                Some((Err(ApiError::internal("spool file unreadable")), None))
            }
            Err(e) => Some((Err(ApiError::internal(e)), None)),
        }
    });
    SizedStream::new(len, chunks)
}

/// Ends a download that makes no progress for its timeout; stops watching when dropped (with
/// the body).
struct Watchdog {
    name: &'static str,
    /// When a chunk was last taken, and the bytes taken so far.
    last: Rc<Cell<(Instant, u64)>>,
    task: actix_web::rt::task::JoinHandle<()>,
}

impl Watchdog {
    /// Starts watching on this worker; `socket` is what is closed on a stall.
    fn start(name: &'static str, timeout: Duration, socket: Option<socket2::Socket>) -> Self {
        let last = Rc::new(Cell::new((Instant::now(), 0u64)));
        let seen = last.clone();
        let task = actix_web::rt::spawn(async move {
            loop {
                let idle = seen.get().0.elapsed();
                if idle >= timeout {
                    break;
                }
                actix_web::rt::time::sleep(timeout - idle).await;
            }
            let sent = seen.get().1;
            // Neither the caller nor the content: the export's kind and how far it got.
            tracing::warn!(
                export = name,
                sent_bytes = sent,
                timeout_ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
                "download stalled past the send timeout; connection closed"
            );
            match socket {
                Some(socket) => cut(&socket),
                None => tracing::warn!(export = name, "no socket known: the stall is left open"),
            }
        });
        Self { name, last, task }
    }

    fn progress(&self, bytes: usize) {
        let sent = self.last.get().1 + bytes as u64;
        self.last.set((Instant::now(), sent));
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Closes a connection at once: a reset (linger 0) rather than a FIN queued behind data the
/// client will not take; the server sees its next write fail and drops the response.
fn cut(socket: &socket2::Socket) {
    let _ = socket.set_linger(Some(Duration::ZERO));
    let _ = socket.shutdown(std::net::Shutdown::Both);
}

/// The socket of a connection, recorded when it is accepted; see [`on_connect`].
#[cfg(unix)]
#[derive(Debug, Clone, Copy)]
struct ConnectionFd(std::os::fd::RawFd);

/// To be given to `HttpServer::on_connect`: records each TCP connection's socket, so that a
/// stalled download can be ended ([`crate::http::stream`]). Without it a stalled download still
/// holds no turn, connection or transaction, but stays open until the client goes.
#[cfg(unix)]
pub fn on_connect(connection: &dyn std::any::Any, data: &mut actix_web::dev::Extensions) {
    use std::os::fd::AsRawFd;
    if let Some(tcp) = connection.downcast_ref::<actix_web::rt::net::TcpStream>() {
        data.insert(ConnectionFd(tcp.as_raw_fd()));
    }
}

/// See the Unix version: elsewhere stalled downloads are not cut.
#[cfg(not(unix))]
pub fn on_connect(_connection: &dyn std::any::Any, _data: &mut actix_web::dev::Extensions) {}

/// A handle of its own on the socket of the connection serving `req`.
#[cfg(unix)]
fn connection_socket(req: &HttpRequest) -> Option<socket2::Socket> {
    let fd = req.conn_data::<ConnectionFd>()?.0;
    // SAFETY: the descriptor is the socket of the connection serving this request, which its
    // dispatcher keeps open at least until the request's answer is built (now); it is only
    // borrowed to duplicate it, and the duplicate is ours to close.
    let borrowed = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) };
    borrowed
        .try_clone_to_owned()
        .map(socket2::Socket::from)
        .map_err(|e| tracing::warn!(error = %e, "cannot hold the connection's socket"))
        .ok()
}

#[cfg(not(unix))]
fn connection_socket(_req: &HttpRequest) -> Option<socket2::Socket> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(u: &str) -> DbUrl {
        DbUrl::parse(u).unwrap_or_else(|e| panic!("{u}: {e}"))
    }

    #[test]
    fn exports_spool_to_the_data_folder_or_the_configured_one() {
        let config = AbuseConfig::default();
        assert_eq!(
            spool_dir(&config, &url("sqlite:///srv/hienmau/data/hienmau.db")),
            Ok(PathBuf::from("/srv/hienmau/data"))
        );
        assert_eq!(
            spool_dir(&config, &url("sqlite://hienmau.db")),
            Ok(PathBuf::from("."))
        );
        assert_eq!(
            spool_dir(&config, &url("postgres://db/hienmau")),
            Ok(std::env::temp_dir())
        );
        let here = std::env::temp_dir();
        let configured = AbuseConfig {
            export_spool_dir: Some(here.clone()),
            ..AbuseConfig::default()
        };
        assert_eq!(
            spool_dir(&configured, &url("postgres://db/hienmau")),
            Ok(here.clone())
        );
        let missing = AbuseConfig {
            export_spool_dir: Some(here.join("no-such-folder-for-hienmau")),
            ..AbuseConfig::default()
        };
        let refused = spool_dir(&missing, &url("postgres://db/hienmau")).unwrap_err();
        assert!(refused.starts_with("export_spool_dir: "), "{refused}");
        let hasty = AbuseConfig {
            export_send_timeout_ms: 10,
            ..AbuseConfig::default()
        };
        let refused = spool_dir(&hasty, &url("sqlite://x.db")).unwrap_err();
        assert!(refused.starts_with("export_send_timeout_ms: "), "{refused}");
    }

    #[test]
    fn the_spool_file_is_private_to_its_user() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir();
        let mut file = unnamed_file(&dir).unwrap();
        let mode = file.metadata().unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{mode:o}");
        file.write_all(b"donor_id\r\n").unwrap();
        file.rewind().unwrap();
        let mut back = String::new();
        file.read_to_string(&mut back).unwrap();
        assert_eq!(back, "donor_id\r\n");
    }
}
