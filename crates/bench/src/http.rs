//! The load generator: `concurrency` tasks on one single-threaded actix runtime, each with its
//! own keep-alive connection (awc pools them), sending requests until a count or a time limit.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::{Duration, Instant};

use awc::http::Method;
use futures_util::StreamExt;

use crate::stats::Measured;
use crate::BenchError;

/// One request to send.
#[derive(Debug, Clone)]
pub struct Req {
    /// Method.
    pub method: Method,
    /// Path and query, from the server root.
    pub path: String,
    /// JSON body.
    pub body: Option<String>,
    /// Extra headers.
    pub headers: Vec<(&'static str, String)>,
    /// The status that counts as success.
    pub expect: u16,
}

impl Req {
    /// A GET expecting 200.
    pub fn get(path: impl Into<String>) -> Self {
        Req {
            method: Method::GET,
            path: path.into(),
            body: None,
            headers: Vec::new(),
            expect: 200,
        }
    }

    /// A POST of a JSON body expecting `expect`.
    pub fn post(path: impl Into<String>, body: String, expect: u16) -> Self {
        Req {
            method: Method::POST,
            path: path.into(),
            body: Some(body),
            headers: Vec::new(),
            expect,
        }
    }

    /// Adds a header.
    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }
}

/// What came back.
#[derive(Debug, Clone, Default)]
pub struct Resp {
    /// Status.
    pub status: u16,
    /// Bytes of the body.
    pub bytes: u64,
    /// The body, when asked to keep it.
    pub body: Option<Vec<u8>>,
}

/// A client bound to a server and a bearer token.
#[derive(Clone)]
pub struct Client {
    inner: awc::Client,
    base: String,
    token: Option<String>,
}

impl Client {
    /// A client of `base` (`http://127.0.0.1:PORT`).
    pub fn new(base: &str) -> Self {
        let inner = awc::Client::builder()
            .timeout(Duration::from_secs(600))
            .connector(awc::Connector::new().limit(0))
            .finish();
        Client {
            inner,
            base: base.to_owned(),
            token: None,
        }
    }

    /// The same client sending `Authorization: Bearer token`.
    pub fn with_token(&self, token: &str) -> Self {
        Client {
            token: Some(token.to_owned()),
            ..self.clone()
        }
    }

    /// Sends one request and reads the whole body (kept when `keep`).
    pub async fn send(&self, req: &Req, keep: bool) -> Result<Resp, BenchError> {
        let mut r = self
            .inner
            .request(req.method.clone(), format!("{}{}", self.base, req.path));
        if let Some(t) = &self.token {
            r = r.insert_header(("authorization", format!("Bearer {t}")));
        }
        for (k, v) in &req.headers {
            r = r.insert_header((*k, v.as_str()));
        }
        let mut resp = match &req.body {
            Some(b) => {
                r.insert_header(("content-type", "application/json"))
                    .send_body(b.clone())
                    .await
            }
            None => r.send().await,
        }
        .map_err(|e| BenchError::msg(format!("{} {}: {e}", req.method, req.path)))?;
        let status = resp.status().as_u16();
        let mut bytes = 0u64;
        let mut body = keep.then(Vec::new);
        while let Some(chunk) = resp.next().await {
            let chunk = chunk.map_err(|e| BenchError::msg(format!("{}: {e}", req.path)))?;
            bytes += chunk.len() as u64;
            if let Some(b) = body.as_mut() {
                b.extend_from_slice(&chunk);
            }
        }
        Ok(Resp {
            status,
            bytes,
            body,
        })
    }

    /// Sends and parses a JSON answer, failing on any status but `req.expect`.
    pub async fn json(&self, req: &Req) -> Result<serde_json::Value, BenchError> {
        let r = self.send(req, true).await?;
        let body = r.body.unwrap_or_default();
        if r.status != req.expect {
            return Err(BenchError::msg(format!(
                "{} {} answered {}: {}",
                req.method,
                req.path,
                r.status,
                String::from_utf8_lossy(&body)
            )));
        }
        Ok(serde_json::from_slice(&body)?)
    }
}

/// How long and how hard to run a workload.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Concurrent clients.
    pub concurrency: usize,
    /// Most requests.
    pub max_requests: u64,
    /// Most time (no new request starts after it).
    pub max_time: Duration,
}

/// Checks a response beyond its status (a batch's items); `Err` counts it as an error.
pub type Check = Rc<dyn Fn(&Resp) -> Result<(), String>>;

/// Runs `make(i)` for i = 0, 1, … from `concurrency` tasks until a limit, and measures.
pub async fn run(
    client: &Client,
    name: &str,
    limits: Limits,
    make: Rc<dyn Fn(u64) -> Req>,
    check: Option<Check>,
) -> Measured {
    let next = Rc::new(Cell::new(0u64));
    let samples: Rc<RefCell<Vec<Duration>>> = Rc::new(RefCell::new(Vec::new()));
    let errors = Rc::new(Cell::new(0u64));
    let first_error: Rc<RefCell<Option<String>>> = Rc::new(RefCell::new(None));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..limits.concurrency.max(1) {
        let (client, next, samples, errors, first_error, make, check) = (
            client.clone(),
            next.clone(),
            samples.clone(),
            errors.clone(),
            first_error.clone(),
            make.clone(),
            check.clone(),
        );
        tasks.push(actix_rt::spawn(async move {
            loop {
                let i = next.get();
                if i >= limits.max_requests || started.elapsed() >= limits.max_time {
                    break;
                }
                next.set(i + 1);
                let req = make(i);
                let t = Instant::now();
                let keep = check.is_some();
                let outcome = client.send(&req, keep).await;
                let took = t.elapsed();
                samples.borrow_mut().push(took);
                let problem = match outcome {
                    Ok(r) if r.status == req.expect => match &check {
                        Some(c) => c(&r).err(),
                        None => None,
                    },
                    Ok(r) => Some(format!("{} {} answered {}", req.method, req.path, r.status)),
                    Err(e) => Some(e.to_string()),
                };
                if let Some(p) = problem {
                    errors.set(errors.get() + 1);
                    first_error.borrow_mut().get_or_insert(p);
                }
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let elapsed = started.elapsed();
    let samples = std::mem::take(&mut *samples.borrow_mut());
    let first = first_error.borrow_mut().take();
    Measured::from_samples(
        name,
        samples,
        errors.get(),
        first,
        limits.concurrency,
        elapsed,
    )
}

/// What a flood sent, by answer.
#[derive(Debug, Clone, Default)]
pub struct FloodCount {
    /// Requests answered.
    pub sent: u64,
    /// Answers with the status the flood expects of a working server (401 for a wrong
    /// password, 200 for an export).
    pub expected: u64,
    /// 429 answers (a limit refused the request).
    pub limited: u64,
    /// Any other status or a transport error.
    pub other: u64,
}

impl std::ops::AddAssign for FloodCount {
    fn add_assign(&mut self, o: Self) {
        self.sent += o.sent;
        self.expected += o.expected;
        self.limited += o.limited;
        self.other += o.other;
    }
}

/// Sends `make(i)` from `concurrency` tasks until `stop` is set, counting the answers: the
/// background load of a measurement, not a measurement. Run it on a thread of its own, so
/// that reading its answers does not delay the measuring client's.
pub async fn flood(
    client: &Client,
    concurrency: usize,
    make: Rc<dyn Fn(u64) -> Req>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> FloodCount {
    let next = Rc::new(Cell::new(0u64));
    let count = Rc::new(RefCell::new(FloodCount::default()));
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (client, next, count, make, stop) = (
            client.clone(),
            next.clone(),
            count.clone(),
            make.clone(),
            stop.clone(),
        );
        tasks.push(actix_rt::spawn(async move {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let i = next.get();
                next.set(i + 1);
                let req = make(i);
                let outcome = client.send(&req, false).await;
                let mut c = count.borrow_mut();
                c.sent += 1;
                match outcome {
                    Ok(r) if r.status == req.expect => c.expected += 1,
                    Ok(r) if r.status == 429 => c.limited += 1,
                    _ => c.other += 1,
                }
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let out = count.borrow().clone();
    out
}
