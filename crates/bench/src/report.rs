//! The figures of a run: tables, ratios, targets, and `docs/benchmarks.md`.

use std::fmt::Write as _;

use crate::http::FloodCount;
use crate::stats::Measured;

/// The bulk load.
#[derive(Debug, Clone, Default)]
pub struct LoadFigures {
    /// Donors written.
    pub donors: u64,
    /// Donation records written.
    pub donations: u64,
    /// Drives and events.
    pub drives: u64,
    /// Events.
    pub events: u64,
    /// Generating and writing rows, seconds.
    pub rows_secs: f64,
    /// Rebuilding indexes, seconds.
    pub index_secs: f64,
    /// ANALYZE, seconds.
    pub analyze_secs: f64,
}

impl LoadFigures {
    /// Donations per second, rows and indexes included.
    pub fn rate(&self) -> f64 {
        self.donations as f64 / (self.rows_secs + self.index_secs).max(1e-9)
    }
}

/// One read workload: over HTTP at one client (latency), at N clients (throughput), and its
/// raw SQL.
#[derive(Debug, Clone, Default)]
pub struct ReadFigures {
    /// Name.
    pub name: String,
    /// One client.
    pub serial: Measured,
    /// N clients.
    pub loaded: Measured,
    /// The raw SQL, one connection.
    pub raw: Option<Measured>,
}

/// Everything measured on one backend.
#[derive(Debug, Clone, Default)]
pub struct BackendRun {
    /// `sqlite` or `postgres`.
    pub backend: String,
    /// The database's version.
    pub version: String,
    /// The load.
    pub load: LoadFigures,
    /// `/health` (the HTTP floor) and the reads.
    pub reads: Vec<ReadFigures>,
    /// Single donation logging over HTTP.
    pub logging: Measured,
    /// The raw logging transaction.
    pub raw_logging: Measured,
    /// Batches of 1,000.
    pub batch: Measured,
    /// The annual report.
    pub annual: Measured,
    /// Its raw SQL.
    pub raw_annual: Measured,
    /// The honors CSV.
    pub honors_csv: Measured,
    /// Its raw SQL (the whole list loaded).
    pub raw_honors: Measured,
    /// Honors CSV bytes and rows.
    pub honors_bytes: u64,
    /// Lines of the CSV, header included.
    pub honors_lines: u64,
    /// Server memory before the export, KiB.
    pub honors_rss_before_kib: u64,
    /// Highest server memory during the export, KiB.
    pub honors_rss_peak_kib: u64,
    /// Server memory idle after start, KiB.
    pub rss_idle_kib: u64,
    /// Highest server memory of the run (VmHWM), KiB.
    pub rss_peak_kib: u64,
    /// The pool size the server ran with.
    pub pool_size: u32,
    /// Single donation logging just before the flood.
    pub flood_base: Measured,
    /// The same logging under the sign-in and export flood.
    pub flood: Measured,
    /// The flood's sign-ins.
    pub flood_sign_ins: FloodCount,
    /// The flood's exports.
    pub flood_exports: FloodCount,
    /// Each round's p99 under the flood over its p99 without.
    pub flood_rounds: Vec<f64>,
}

/// A target's verdict.
pub struct Verdict {
    /// What.
    pub target: String,
    /// The figure.
    pub figure: String,
    /// Met.
    pub ok: bool,
}

fn ms(x: f64) -> String {
    if x >= 100.0 {
        format!("{x:.0}")
    } else if x >= 10.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.2}")
    }
}

fn rate(x: f64) -> String {
    if x >= 100.0 {
        format!("{x:.0}")
    } else {
        format!("{x:.1}")
    }
}

impl BackendRun {
    fn read(&self, name: &str) -> Option<&ReadFigures> {
        self.reads.iter().find(|r| r.name == name)
    }

    /// `/health`'s one-client p50.
    pub fn health_p50(&self) -> f64 {
        self.read("health").map_or(0.0, |r| r.serial.p50_ms)
    }

    /// The targets of the issue, judged on this run's figures.
    pub fn verdicts(&self) -> Vec<Verdict> {
        let mut v = Vec::new();
        let mut push =
            |target: String, figure: String, ok: bool| v.push(Verdict { target, figure, ok });
        for (name, limit) in [
            ("drive tally", 10.0),
            ("emergency candidates", 20.0),
            ("donor read", 5.0),
        ] {
            if let Some(r) = self.read(name) {
                push(
                    format!("{name} p99 ≤ {limit} ms (one client)"),
                    format!("{} ms", ms(r.serial.p99_ms)),
                    r.serial.p99_ms <= limit && r.serial.errors == 0,
                );
            }
        }
        // Issue 17: search as you type, and the exact look-ups at the donation event.
        for r in &self.reads {
            let limit = if r.name.starts_with("search brief:") {
                50.0
            } else if r.name.starts_with("look-up ") {
                5.0
            } else {
                continue;
            };
            push(
                format!("{} p99 ≤ {limit} ms (one client)", r.name),
                format!("{} ms", ms(r.serial.p99_ms)),
                r.serial.p99_ms <= limit && r.serial.errors == 0,
            );
        }
        push(
            "annual report ≤ 1 s".to_owned(),
            format!("{} ms (slowest)", ms(self.annual.max_ms)),
            self.annual.max_ms <= 1000.0 && self.annual.errors == 0 && self.annual.ok > 0,
        );
        push(
            "honors CSV ≤ 5 s".to_owned(),
            format!("{} ms", ms(self.honors_csv.max_ms)),
            self.honors_csv.max_ms <= 5000.0 && self.honors_csv.errors == 0,
        );
        let growth = self
            .honors_rss_peak_kib
            .saturating_sub(self.honors_rss_before_kib);
        push(
            "honors CSV server memory growth ≤ 50 MB".to_owned(),
            format!("{:.1} MB", growth as f64 / 1024.0),
            growth <= 50 * 1024,
        );
        push(
            "durable single donation logging ≥ 500/s".to_owned(),
            format!("{}/s", rate(self.logging.per_second)),
            self.logging.per_second >= 500.0 && self.logging.errors == 0,
        );
        push(
            "batch of 1,000 p95 ≤ 300 ms".to_owned(),
            format!("{} ms", ms(self.batch.p95_ms)),
            self.batch.p95_ms <= 300.0 && self.batch.errors == 0 && self.batch.ok > 0,
        );
        push(
            "bulk load ≥ 50,000 donations/s".to_owned(),
            format!("{}/s", rate(self.load.rate())),
            self.load.rate() >= 50_000.0,
        );
        let health = self.health_p50();
        for r in &self.reads {
            if let Some(raw) = &r.raw {
                let bound = health + 1.5 * raw.p50_ms;
                push(
                    format!("{} p50 ≤ /health p50 + 1.5 × raw p50", r.name),
                    format!("{} ms vs {} ms", ms(r.serial.p50_ms), ms(bound)),
                    r.serial.p50_ms <= bound,
                );
            }
        }
        if let (Some(read), Some(h)) = (self.read("donor read"), self.read("health")) {
            let share = read.loaded.per_second / h.loaded.per_second.max(1e-9);
            push(
                "donor read throughput ≥ 50 % of /health".to_owned(),
                format!("{:.0} %", share * 100.0),
                share >= 0.5,
            );
        }
        let base = self.flood_base.p99_ms.max(1e-9);
        push(
            "logging p99 under a sign-in and CSV flood ≤ 2 × without".to_owned(),
            format!(
                "{} ms vs {} ms ({:.2} ×)",
                ms(self.flood.p99_ms),
                ms(self.flood_base.p99_ms),
                self.flood.p99_ms / base
            ),
            self.flood.p99_ms <= 2.0 * base
                && self.flood.errors == 0
                && self.flood_base.errors == 0
                && self.flood.ok > 0,
        );
        push(
            "server resident memory ≤ 150 MB".to_owned(),
            format!("{:.1} MB peak", self.rss_peak_kib as f64 / 1024.0),
            self.rss_peak_kib <= 150 * 1024,
        );
        v
    }

    /// The backend's section, in Markdown.
    pub fn markdown(&self) -> String {
        let mut s = String::new();
        let l = &self.load;
        let _ = writeln!(s, "### {} ({})\n", self.backend, self.version);
        let _ = writeln!(
            s,
            "Data: {} donors, {} donation records, {} drives, {} events. Server pool: {} connections.\n",
            l.donors, l.donations, l.drives, l.events, self.pool_size
        );
        let _ = writeln!(
            s,
            "Bulk load: {:.1} s rows (generation overlapped) + {:.1} s indexes = **{} donations/s**; \
             then {:.1} s ANALYZE.\n",
            l.rows_secs,
            l.index_secs,
            rate(l.rate()),
            l.analyze_secs
        );
        let _ = writeln!(
            s,
            "| workload | 1 client p50 ms | p99 ms | N clients | p50 ms | p99 ms | req/s | raw SQL p50 ms | raw p99 ms | errors |"
        );
        let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        for r in &self.reads {
            let (rp50, rp99) = r
                .raw
                .as_ref()
                .map_or(("—".to_owned(), "—".to_owned()), |m| {
                    (ms(m.p50_ms), ms(m.p99_ms))
                });
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                r.name,
                ms(r.serial.p50_ms),
                ms(r.serial.p99_ms),
                r.loaded.concurrency,
                ms(r.loaded.p50_ms),
                ms(r.loaded.p99_ms),
                rate(r.loaded.per_second),
                rp50,
                rp99,
                r.serial.errors + r.loaded.errors
            );
        }
        let _ = writeln!(s);
        let _ = writeln!(
            s,
            "| write / heavy workload | runs | clients | p50 ms | p95 ms | p99 ms | max ms | per s | errors |"
        );
        let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        for m in [
            &self.logging,
            &self.raw_logging,
            &self.batch,
            &self.annual,
            &self.raw_annual,
            &self.honors_csv,
            &self.raw_honors,
            &self.flood_base,
            &self.flood,
        ] {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                m.name,
                m.ok + m.errors,
                m.concurrency,
                ms(m.p50_ms),
                ms(m.p95_ms),
                ms(m.p99_ms),
                ms(m.max_ms),
                rate(m.per_second),
                m.errors
            );
        }
        let _ = writeln!(s);
        let _ = writeln!(
            s,
            "Honors CSV: {} lines, {:.1} MB; server memory {:.1} MB before, {:.1} MB at most during the export. \
             Server memory: {:.1} MB idle after start, {:.1} MB peak over the run.\n",
            self.honors_lines,
            self.honors_bytes as f64 / 1e6,
            self.honors_rss_before_kib as f64 / 1024.0,
            self.honors_rss_peak_kib as f64 / 1024.0,
            self.rss_idle_kib as f64 / 1024.0,
            self.rss_peak_kib as f64 / 1024.0
        );
        let (si, ex) = (&self.flood_sign_ins, &self.flood_exports);
        let _ = writeln!(
            s,
            "The flood ({} rounds, each measured after 6 s of flood): {} wrong-password sign-ins \
             ({} answered 401, {} 429, {} other) and {} honors CSV exports ({} answered 200, {} 429, \
             {} other). Each round's p99 ratio: {}.\n",
            self.flood_rounds.len(),
            si.sent,
            si.expected,
            si.limited,
            si.other,
            ex.sent,
            ex.expected,
            ex.limited,
            ex.other,
            self.flood_rounds
                .iter()
                .map(|r| format!("{r:.2}×"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let errors: Vec<String> = self
            .reads
            .iter()
            .flat_map(|r| [&r.serial, &r.loaded].into_iter().chain(r.raw.as_ref()))
            .chain([
                &self.logging,
                &self.raw_logging,
                &self.batch,
                &self.annual,
                &self.raw_annual,
                &self.honors_csv,
                &self.raw_honors,
                &self.flood_base,
                &self.flood,
            ])
            .filter_map(|m| m.first_error.as_ref().map(|e| format!("- {}: {e}", m.name)))
            .collect();
        if !errors.is_empty() {
            let _ = writeln!(s, "First error of each workload that had one:\n");
            for e in errors {
                let _ = writeln!(s, "{e}");
            }
            let _ = writeln!(s);
        }
        let _ = writeln!(s, "Targets (set for the full 20 M run on this machine):\n");
        let _ = writeln!(s, "| target | figure | |");
        let _ = writeln!(s, "|---|---:|---|");
        for v in self.verdicts() {
            let _ = writeln!(
                s,
                "| {} | {} | {} |",
                v.target,
                v.figure,
                if v.ok { "ok" } else { "missed" }
            );
        }
        let _ = writeln!(s);
        s
    }
}
