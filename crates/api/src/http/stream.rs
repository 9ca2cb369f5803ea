//! Streamed downloads: a low-priority thread ([`crate::background`]) produces the body in
//! chunks on a pooled connection and sends them through a bounded channel; the response body
//! is the channel. A reader that goes away closes the channel and the producer stops at its
//! next chunk. The caller's turn at expensive work is held until the last chunk is sent.

use actix_web::web::Bytes;
use futures_util::Stream;
use hienmau_db::DbConn;

use crate::app::AppError;
use crate::http::error::ApiError;
use crate::http::limits::Turn;
use crate::http::state::AppState;

/// Chunks buffered between the database thread and the socket.
const BUFFER: usize = 4;

/// Starts `produce` on a background thread named `name` and returns the body: `preamble`
/// first, then every chunk `produce` hands to its sink (which answers false once the reader
/// has gone). An error of `produce` ends the body with that error (the client sees a cut
/// download).
pub fn background_body<F>(
    state: &AppState,
    name: &'static str,
    turn: Option<Turn>,
    preamble: Vec<u8>,
    produce: F,
) -> Result<impl Stream<Item = Result<Bytes, ApiError>>, ApiError>
where
    F: FnOnce(&mut DbConn, &mut dyn FnMut(Vec<u8>) -> bool) -> Result<u64, AppError>
        + Send
        + 'static,
{
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, ApiError>>(BUFFER);
    let pool = state.pool.clone();
    crate::background::spawn(name, move || {
        let _turn = turn;
        if tx.blocking_send(Ok(Bytes::from(preamble))).is_err() {
            return;
        }
        let mut conn = match pool.get() {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, export = name, "no database connection for the export");
                let _ = tx.blocking_send(Err(ApiError::Unavailable));
                return;
            }
        };
        let mut sink = |chunk: Vec<u8>| tx.blocking_send(Ok(Bytes::from(chunk))).is_ok();
        match produce(&mut conn, &mut sink) {
            Ok(rows) => tracing::info!(rows, export = name, "exported"),
            Err(e) => {
                tracing::error!(error = %e, export = name, "export failed");
                let _ = tx.blocking_send(Err(ApiError::from(e)));
            }
        }
    })?;
    Ok(futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    }))
}
