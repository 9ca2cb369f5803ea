//! `hienmau-bench`: generates and bulk-loads a national data set, starts the real server,
//! measures the workloads over HTTP against raw-SQL baselines, prints the figures and targets,
//! and writes `docs/benchmarks.md` when asked. See `--help` and `docs/benchmarks.md`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::rc::Rc;
use std::time::{Duration, Instant};

use chrono::{NaiveDate, TimeDelta, Utc};
use clap::{Parser, ValueEnum};
use diesel::{QueryableByName, RunQueryDsl};
use hienmau_bench::gen::{self, Params, Summary};
use hienmau_bench::http::{self, Client, Limits, Req, Resp};
use hienmau_bench::load::{self, Batch, ChannelSink, Loader};
use hienmau_bench::raw::{self, LogTarget, RequestSpec};
use hienmau_bench::report::{BackendRun, LoadFigures, ReadFigures};
use hienmau_bench::server::{self, RssSampler, Server};
use hienmau_bench::stats::Measured;
use hienmau_bench::BenchError;
use hienmau_db::repo::honors::DueQuery;
use hienmau_db::repo::reports::AnnualQuery;
use hienmau_db::DbConn;
use hienmau_domain::blood::BloodGroup;
use hienmau_domain::eligibility::EligibilityRules;
use hienmau_domain::honors::TierTable;
use hienmau_domain::text::fold;
use hienmau_domain::Component;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Which database(s).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum BackendArg {
    Sqlite,
    Postgres,
    Both,
}

/// The hienmau benchmark: a national data set, the real server, HTTP workloads, raw-SQL
/// baselines, targets. Every run starts from a fresh database (the one named is dropped).
#[derive(Debug, Parser)]
#[command(name = "hienmau-bench", version, about)]
struct Args {
    /// Which backend(s) to measure.
    #[arg(long, value_enum, default_value = "both")]
    backend: BackendArg,
    /// The PostgreSQL database to (re)create and use.
    #[arg(
        long,
        default_value = "postgres://postgres@127.0.0.1:5432/hienmau_bench"
    )]
    database_url: String,
    /// The SQLite file to (re)create and use.
    #[arg(long, default_value = "target/bench/hienmau-bench.db")]
    sqlite_path: PathBuf,
    /// Quick mode: 30,000 donors, 200,000 donations, 2-second phases (proves the harness;
    /// its figures are not the targets' scale).
    #[arg(long)]
    quick: bool,
    /// Donors (default 3,000,000; quick 30,000).
    #[arg(long)]
    donors: Option<u64>,
    /// Donation records over the period (default 20,000,000; quick 200,000).
    #[arg(long)]
    donations: Option<u64>,
    /// Years of history.
    #[arg(long, default_value_t = 10)]
    years: u32,
    /// The last day of the history (default: yesterday in Asia/Ho_Chi_Minh).
    #[arg(long)]
    end_date: Option<NaiveDate>,
    /// The seed of the data set.
    #[arg(long, default_value_t = 20_260_407)]
    seed: u64,
    /// Seconds per measured phase (default 10; quick 2).
    #[arg(long)]
    phase_secs: Option<u64>,
    /// Concurrent HTTP clients in the throughput phases.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// The server's connection pool (HIENMAU_POOL__MAX_SIZE); default: the configuration's.
    #[arg(long)]
    pool_size: Option<u32>,
    /// Extra server settings as `HIENMAU_…=value` (repeatable), e.g.
    /// `--server-env HIENMAU_ABUSE__EXPENSIVE_BUSY_PERCENT=25`.
    #[arg(long = "server-env", value_parser = parse_env)]
    server_env: Vec<(String, String)>,
    /// Concurrent wrong-password sign-ins in the flood phase.
    #[arg(long, default_value_t = 8)]
    flood_sign_ins: usize,
    /// Concurrent honors CSV exports in the flood phase.
    #[arg(long, default_value_t = 4)]
    flood_exports: usize,
    /// The server's log filter (RUST_LOG), its log going to a file in the work folder.
    #[arg(long, default_value = "warn")]
    server_log: String,
    /// The `hienmau` binary (default: beside this one).
    #[arg(long)]
    server_bin: Option<PathBuf>,
    /// Folder for the server logs.
    #[arg(long, default_value = "target/bench")]
    work_dir: PathBuf,
    /// Writes the report (Markdown) to this file, e.g. docs/benchmarks.md.
    #[arg(long)]
    write_docs: Option<PathBuf>,
    /// A hand-written Markdown file (findings, reasons, plans) included in the report.
    #[arg(long, default_value = "docs/benchmarks-notes.md")]
    notes: PathBuf,
}

/// Sizes and limits after `--quick` and the defaults.
struct Plan {
    donors: u64,
    donations: u64,
    phase: Duration,
    singles: u64,
    batches: u64,
    raw_logs: u64,
    annual_runs: u64,
    honors_runs: u64,
    /// Single donations logged without, and as many with, the sign-in and export flood (over
    /// all rounds).
    flood_logs: u64,
}

fn plan(a: &Args) -> Plan {
    if a.quick {
        Plan {
            donors: a.donors.unwrap_or(30_000),
            donations: a.donations.unwrap_or(200_000),
            phase: Duration::from_secs(a.phase_secs.unwrap_or(2)),
            singles: 2_000,
            batches: 3,
            raw_logs: 1_000,
            annual_runs: 3,
            honors_runs: 2,
            flood_logs: 1_500,
        }
    } else {
        Plan {
            donors: a.donors.unwrap_or(3_000_000),
            donations: a.donations.unwrap_or(20_000_000),
            phase: Duration::from_secs(a.phase_secs.unwrap_or(10)),
            singles: 20_000,
            batches: 10,
            raw_logs: 5_000,
            annual_runs: 3,
            honors_runs: 2,
            flood_logs: 5_000,
        }
    }
}

fn parse_env(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if k.starts_with("HIENMAU_") => Ok((k.to_owned(), v.to_owned())),
        _ => Err(format!("{s:?}: expected HIENMAU_KEY=value")),
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(all_ok) => {
            if all_ok || args.quick {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(e) => {
            eprintln!("hienmau-bench: {e}");
            ExitCode::from(2)
        }
    }
}

fn today_vn() -> NaiveDate {
    (Utc::now() + TimeDelta::hours(7)).date_naive()
}

fn run(args: &Args) -> Result<bool, BenchError> {
    let plan = plan(args);
    let bin = server::locate_binary(args.server_bin.as_deref())?;
    std::fs::create_dir_all(&args.work_dir)?;
    let mut urls = Vec::new();
    if matches!(args.backend, BackendArg::Sqlite | BackendArg::Both) {
        if let Some(dir) = args
            .sqlite_path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
        {
            std::fs::create_dir_all(dir)?;
        }
        let abs = std::path::absolute(&args.sqlite_path)?;
        urls.push(("sqlite", format!("sqlite://{}", abs.display())));
    }
    if matches!(args.backend, BackendArg::Postgres | BackendArg::Both) {
        urls.push(("postgres", args.database_url.clone()));
    }
    let started = Instant::now();
    let mut runs = Vec::new();
    for (name, url) in &urls {
        eprintln!("== {name}: {url}");
        let t = Instant::now();
        let r = run_backend(args, &plan, &bin, name, url)?;
        eprintln!("== {name} done in {:.0} s", t.elapsed().as_secs_f64());
        print!("{}", r.markdown());
        runs.push(r);
    }
    let total = started.elapsed();
    let mut all_ok = true;
    println!("Targets:");
    for r in &runs {
        for v in r.verdicts() {
            all_ok &= v.ok;
            println!(
                "{:<9} {:<58} {:>26}  {}",
                r.backend,
                v.target,
                v.figure,
                if v.ok { "ok" } else { "missed" }
            );
        }
    }
    if let Some(path) = &args.write_docs {
        let doc = document(args, &plan, &runs, total)?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(path, doc)?;
        eprintln!("wrote {}", path.display());
    }
    Ok(all_ok)
}

fn run_backend(
    args: &Args,
    plan: &Plan,
    bin: &std::path::Path,
    backend: &str,
    url: &str,
) -> Result<BackendRun, BenchError> {
    let today = today_vn();
    let end = args.end_date.unwrap_or(today - TimeDelta::days(1));
    let params = Params {
        donors: plan.donors,
        donations: plan.donations,
        years: args.years,
        end,
        seed: args.seed,
        reserve_share: 0.10,
        rh_negative_share: 0.001,
        provinces: 34,
        communes_per_province: 98,
        chunk_donors: 10_000,
        today,
        loggable_wanted: (plan.singles + plan.batches * 1_000 + plan.raw_logs + 2 * plan.flood_logs)
            as usize,
    };

    // 1. A fresh database and the bulk load.
    eprintln!(
        "   generating and loading {} donors, {} donations",
        plan.donors, plan.donations
    );
    load::fresh_database(url)?;
    let mut saved = Vec::new();
    let mut loader = Loader::open(url, &mut saved)?;
    let t = Instant::now();
    let summary = std::thread::scope(|s| -> Result<Summary, BenchError> {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Batch>(2);
        let producer = s.spawn(move || {
            let mut sink = ChannelSink(tx);
            gen::generate(&params, &mut sink)
        });
        for batch in rx {
            loader.apply(batch)?;
        }
        producer
            .join()
            .map_err(|_| BenchError::msg("the generator panicked"))?
    })?;
    let rows_secs = t.elapsed().as_secs_f64();
    let (index, analyze) = loader.finish(&saved)?;
    drop(loader);
    // The loader computed every donor's eligibility figures with the national rules, which
    // the server runs with: say so, or its start would recompute all of them one by one.
    let fingerprint = EligibilityRules::default()
        .fingerprint()
        .map_err(|e| BenchError::msg(format!("the rules' fingerprint: {e}")))?;
    hienmau_db::repo::rules::set_fingerprint(
        &mut load::open(url)?,
        hienmau_db::repo::rules::ELIGIBILITY,
        &fingerprint,
        Utc::now().naive_utc(),
    )?;
    let load_figures = LoadFigures {
        donors: summary.donors,
        donations: summary.donations,
        drives: summary.drive_ids.len() as u64,
        events: summary.events,
        rows_secs,
        index_secs: index.as_secs_f64(),
        analyze_secs: analyze.as_secs_f64(),
    };
    eprintln!(
        "   loaded in {:.1} s + {:.1} s indexes ({:.0} donations/s)",
        rows_secs,
        index.as_secs_f64(),
        load_figures.rate()
    );

    // 2. The server.
    let password = "hienmau-bench-admin-password";
    server::create_admin(bin, url, "bench.admin", password)?;
    // One admin calls the expensive routes thousands of times a second here; the per-caller
    // limit (60 a minute by default) exists for floods from one caller, not for this. The
    // sign-in throttle is raised too, so that the flood phase's wrong passwords are all hashed,
    // as they would be when they come from many addresses. The same admin reads thousands of
    // donors a second (donor read, donor search): its budget of donors shown per hour is
    // raised likewise; each read is still audited and counted, which is what is measured.
    let mut extra: Vec<(String, String)> = [
        "HIENMAU_ABUSE__EXPENSIVE_PER_MINUTE",
        "HIENMAU_ABUSE__EXPENSIVE_BURST",
        "HIENMAU_LOGIN_THROTTLE__MAX_FAILURES_PER_USERNAME",
        "HIENMAU_LOGIN_THROTTLE__MAX_FAILURES_PER_ADDRESS",
        "HIENMAU_REGISTRY__DONORS_PER_HOUR",
    ]
    .into_iter()
    .map(|k| (k.to_owned(), "100000000".to_owned()))
    .collect();
    extra.extend(args.server_env.iter().cloned());
    if let Some(n) = args.pool_size {
        extra.push(("HIENMAU_POOL__MAX_SIZE".to_owned(), n.to_string()));
    }
    let log = args.work_dir.join(format!("server-{backend}.log"));
    let mut server = Server::start(bin, url, &log, &args.server_log, &extra)?;
    std::thread::sleep(Duration::from_millis(300));
    let rss_idle = server.rss_kib();
    let mut raw_conn = load::open(url)?;
    let version = db_version(&mut raw_conn)?;

    let mut result = BackendRun {
        backend: backend.to_owned(),
        version,
        load: load_figures,
        rss_idle_kib: rss_idle,
        pool_size: args.pool_size.unwrap_or(16),
        ..BackendRun::default()
    };
    let system = actix_rt::System::new();
    system.block_on(workloads(
        args,
        plan,
        &server,
        password,
        &summary,
        today,
        &mut raw_conn,
        &mut result,
    ))?;
    result.rss_peak_kib = server.peak_rss_kib();
    if let Some(status) = server.exited() {
        return Err(BenchError::msg(format!(
            "the server ended during the run ({status}); see {} — the figures are void",
            log.display()
        )));
    }
    Ok(result)
}

#[derive(QueryableByName)]
struct Version {
    #[diesel(sql_type = diesel::sql_types::Text)]
    v: String,
}

fn db_version(conn: &mut DbConn) -> Result<String, BenchError> {
    let rows: Vec<Version> = match conn {
        DbConn::Pg(c) => diesel::sql_query("SELECT version() AS v").load(c)?,
        DbConn::Sqlite(c) => {
            diesel::sql_query("SELECT 'SQLite ' || sqlite_version() AS v").load(c)?
        }
    };
    Ok(rows
        .into_iter()
        .next()
        .map(|r| r.v.split(" on ").next().unwrap_or_default().to_owned())
        .unwrap_or_default())
}

fn str_of(v: &serde_json::Value, key: &str) -> Result<String, BenchError> {
    v.get(key)
        .and_then(|x| x.as_str())
        .map(str::to_owned)
        .ok_or_else(|| BenchError::msg(format!("no {key} in {v}")))
}

#[expect(
    clippy::too_many_arguments,
    reason = "one workload's settings, passed once"
)]
async fn workloads(
    args: &Args,
    plan: &Plan,
    server: &Server,
    password: &str,
    summary: &Summary,
    today: NaiveDate,
    raw_conn: &mut DbConn,
    out: &mut BackendRun,
) -> Result<(), BenchError> {
    let anon = Client::new(&server.base);
    let login = anon
        .json(&Req::post(
            "/api/v1/auth/login",
            serde_json::json!({"username": "bench.admin", "password": password}).to_string(),
            200,
        ))
        .await?;
    let token = str_of(&login, "access_token")?;
    let client = anon.with_token(&token);

    // Set-up through the API: a hospital, open emergency requests, today's drive and event.
    let (province_id, province_name) = summary
        .provinces
        .first()
        .cloned()
        .ok_or_else(|| BenchError::msg("no province"))?;
    let commune = summary.sample_communes.first().cloned().unwrap_or_default();
    let hospital = client
        .json(&Req::post(
            "/api/v1/hospitals",
            serde_json::json!({"name": "Bệnh viện Bạch Mai", "province": province_name})
                .to_string(),
            201,
        ))
        .await?;
    let hospital_id = str_of(&hospital, "id")?;
    let mut requests = Vec::new();
    for (group, component) in [
        ("O+", "whole_blood"),
        ("A+", "red_cells"),
        ("B+", "platelets"),
        ("AB+", "plasma"),
        ("O-", "red_cells"),
    ] {
        let r = client
            .json(&Req::post(
                "/api/v1/emergency-requests",
                serde_json::json!({
                    "blood_group": group, "component": component, "units_needed": 1_000,
                    "urgency": "critical", "province": province_name, "commune": commune,
                    "hospital_id": hospital_id,
                })
                .to_string(),
                201,
            ))
            .await?;
        requests.push(RequestSpec {
            id: str_of(&r, "id")?,
            patient: BloodGroup::parse(group).map_err(|e| BenchError::msg(e.to_string()))?,
            component: Component::parse(component).map_err(|e| BenchError::msg(e.to_string()))?,
            province_folded: fold(&province_name),
            commune_folded: fold(&commune),
        });
    }
    let drive = client
        .json(&Req::post(
            "/api/v1/drives",
            serde_json::json!({
                "name": "Benchmark drive", "chapter_id": province_id,
                "starts_on": today - TimeDelta::days(1), "ends_on": today + TimeDelta::days(1),
            })
            .to_string(),
            201,
        ))
        .await?;
    let drive_id = str_of(&drive, "id")?;
    let event = client
        .json(&Req::post(
            format!("/api/v1/drives/{drive_id}/events"),
            serde_json::json!({"site": "Nhà văn hóa", "held_on": today}).to_string(),
            201,
        ))
        .await?;
    let event_id = str_of(&event, "id")?;

    let phase = plan.phase;
    let serial = Limits {
        concurrency: 1,
        max_requests: u64::MAX,
        max_time: phase,
    };
    let loaded = Limits {
        concurrency: args.concurrency,
        max_requests: u64::MAX,
        max_time: phase,
    };
    let rules = EligibilityRules::default();
    let thresholds: Vec<u32> = TierTable::default()
        .tiers()
        .iter()
        .map(|t| t.threshold)
        .collect();

    // Reads: one client, N clients, then the raw SQL.
    let seed = args.seed;
    let donors = Rc::new(summary.donor_sample.clone());
    let drives = Rc::new(summary.drive_ids.clone());
    let terms = Rc::new(summary.search_terms.clone());
    // The search workloads of issue 17: a page of 50 in the brief view (search as you type)
    // and the exact look-ups in both views (the full one also writes its audit entry). Terms: one word (the given name), three or
    // more (the whole name, short words included), "thi" (in about half of the names), a
    // CCCD, a phone.
    let names = &summary.search_names;
    let searches: Vec<(&str, Rc<Vec<String>>, &str)> = vec![
        (
            "search brief: 1 word",
            Rc::new(
                names
                    .iter()
                    .filter_map(|n| n.split(' ').next_back().map(str::to_owned))
                    .collect(),
            ),
            "brief",
        ),
        ("search brief: whole name", Rc::new(names.clone()), "brief"),
        (
            "search brief: thi + given name",
            Rc::new(
                names
                    .iter()
                    .filter_map(|n| n.split(' ').next_back().map(|g| format!("thi {g}")))
                    .collect(),
            ),
            "brief",
        ),
        (
            "search brief: thi",
            Rc::new(vec!["thi".to_owned()]),
            "brief",
        ),
        (
            "look-up brief: CCCD",
            Rc::new(summary.search_national_ids.clone()),
            "brief",
        ),
        (
            "look-up brief: phone",
            Rc::new(summary.search_phones.clone()),
            "brief",
        ),
        (
            "look-up full: CCCD",
            Rc::new(summary.search_national_ids.clone()),
            "full",
        ),
        (
            "look-up full: phone",
            Rc::new(summary.search_phones.clone()),
            "full",
        ),
    ];
    let reqs = Rc::new(requests.clone());
    type Make = Rc<dyn Fn(u64) -> Req>;
    let pick = move |n: usize, i: u64| -> usize {
        StdRng::seed_from_u64(seed ^ i.wrapping_mul(0x9E37_79B9)).gen_range(0..n.max(1))
    };
    let reads: Vec<(&str, Make)> = vec![
        ("health", Rc::new(|_| Req::get("/health"))),
        ("donor read", {
            let d = donors.clone();
            Rc::new(move |i| Req::get(format!("/api/v1/donors/{}", d[pick(d.len(), i)])))
        }),
        ("donor search", {
            let t = terms.clone();
            Rc::new(move |i| {
                let term = &t[pick(t.len(), i)];
                Req::get(format!(
                    "/api/v1/donors?q={}&limit=50",
                    term.replace(' ', "+")
                ))
            })
        }),
        ("drive tally", {
            let d = drives.clone();
            Rc::new(move |i| Req::get(format!("/api/v1/drives/{}/tally", d[pick(d.len(), i)])))
        }),
        ("emergency candidates", {
            let r = reqs.clone();
            Rc::new(move |i| {
                Req::get(format!(
                    "/api/v1/emergency-requests/{}/candidates?limit=20",
                    r[pick(r.len(), i)].id
                ))
            })
        }),
    ];
    let mut reads = reads;
    for (name, terms, view) in &searches {
        let t = terms.clone();
        let view = *view;
        let make: Make = Rc::new(move |i| {
            let term = &t[pick(t.len(), i)];
            Req::get(format!(
                "/api/v1/donors?q={}&limit=50&view={view}",
                term.replace(' ', "+")
            ))
        });
        reads.push((name, make));
    }
    for (name, make) in reads {
        eprintln!("   {name}");
        let s = http::run(&client, name, serial, make.clone(), None).await;
        let l = http::run(&client, name, loaded, make, None).await;
        let raw = match name {
            "health" => None,
            "donor read" => Some(raw::measure(name, u64::MAX, phase, |i| {
                raw::donor_read(raw_conn, &donors[pick(donors.len(), i)])
            })),
            "donor search" => Some(raw::measure(name, u64::MAX, phase, |i| {
                raw::donor_search(raw_conn, &terms[pick(terms.len(), i)])
            })),
            n if n.starts_with("search ") || n.starts_with("look-up ") => {
                let t = searches
                    .iter()
                    .find(|s| s.0 == n)
                    .map(|s| s.1.clone())
                    .unwrap_or_default();
                Some(raw::measure(name, u64::MAX, phase, |i| {
                    raw::donor_search(raw_conn, &t[pick(t.len(), i)])
                }))
            }
            "drive tally" => Some(raw::measure(name, u64::MAX, phase, |i| {
                raw::tally(raw_conn, &drives[pick(drives.len(), i)])
            })),
            _ => Some(raw::measure(name, u64::MAX, phase, |i| {
                raw::candidates(raw_conn, &rules, &requests[pick(requests.len(), i)], today)
            })),
        };
        out.reads.push(ReadFigures {
            name: name.to_owned(),
            serial: s,
            loaded: l,
            raw,
        });
    }

    // The annual report of the last complete year, nationally.
    eprintln!("   annual report {}", summary.report_year);
    let year = summary.report_year;
    let annual_limits = Limits {
        concurrency: 1,
        max_requests: plan.annual_runs,
        max_time: phase * 30,
    };
    out.annual = http::run(
        &client,
        "annual report (HTTP)",
        annual_limits,
        Rc::new(move |_| Req::get(format!("/api/v1/reports/annual?year={year}"))),
        None,
    )
    .await;
    let aq = AnnualQuery {
        from: NaiveDate::from_ymd_opt(year, 1, 1).unwrap_or(today),
        to: NaiveDate::from_ymd_opt(year, 12, 31).unwrap_or(today),
        chapter_path_prefix: None,
        thresholds: thresholds.clone(),
    };
    out.raw_annual = raw::measure(
        "annual report (raw SQL)",
        plan.annual_runs,
        phase * 30,
        |_| {
            hienmau_db::repo::reports::annual(raw_conn, &aq)?;
            Ok(())
        },
    );

    // The national honors CSV, with the server's memory sampled.
    eprintln!("   honors CSV");
    let before = server.rss_kib();
    let sampler = RssSampler::start(server.pid());
    let bytes = Rc::new(std::cell::Cell::new(0u64));
    let lines = Rc::new(std::cell::Cell::new(0u64));
    let (b2, l2) = (bytes.clone(), lines.clone());
    let check: http::Check = Rc::new(move |r: &Resp| {
        b2.set(r.bytes);
        let body = r.body.as_deref().unwrap_or_default();
        l2.set(body.iter().filter(|&&c| c == b'\n').count() as u64);
        Ok(())
    });
    out.honors_csv = http::run(
        &client,
        "honors CSV (HTTP)",
        Limits {
            concurrency: 1,
            max_requests: plan.honors_runs,
            max_time: phase * 30,
        },
        Rc::new(|_| Req::get("/api/v1/honors/eligible").header("accept", "text/csv")),
        Some(check),
    )
    .await;
    out.honors_rss_peak_kib = sampler.finish();
    out.honors_rss_before_kib = before;
    out.honors_bytes = bytes.get();
    out.honors_lines = lines.get();
    let dq = DueQuery {
        as_of: today,
        thresholds,
        min_tier: None,
        chapter_path_prefix: None,
    };
    out.raw_honors = raw::measure(
        "honors list (raw SQL)",
        plan.honors_runs,
        phase * 30,
        |_| {
            hienmau_db::repo::honors::due_page(raw_conn, &dq, None, i64::from(i32::MAX))?;
            Ok(())
        },
    );

    // Writes: single donations with keys, batches of 1,000, the raw transaction.
    let loggable = Rc::new(summary.loggable.clone());
    let singles = plan.singles.min(loggable.len() as u64);
    let batch_start = singles as usize;
    let batches = plan
        .batches
        .min((loggable.len().saturating_sub(batch_start) / 1_000) as u64);
    let raw_start = batch_start + batches as usize * 1_000;
    eprintln!("   donation logging ({singles} singles, {batches} batches)");
    let body = |donor: &str| {
        serde_json::json!({
            "donor_id": donor, "component": "whole_blood", "volume_ml": 350,
            "outcome": "collected",
        })
    };
    out.logging = {
        let l = loggable.clone();
        let ev = event_id.clone();
        http::run(
            &client,
            "single donation (HTTP, Idempotency-Key)",
            Limits {
                concurrency: args.concurrency,
                max_requests: singles,
                max_time: phase * 5,
            },
            Rc::new(move |i| {
                Req::post(
                    format!("/api/v1/events/{ev}/donations"),
                    body(&l[i as usize]).to_string(),
                    201,
                )
                .header("idempotency-key", format!("bench-{i}"))
            }),
            None,
        )
        .await
    };
    out.batch = {
        let l = loggable.clone();
        let ev = event_id.clone();
        let check: http::Check = Rc::new(|r: &Resp| {
            let v: serde_json::Value =
                serde_json::from_slice(r.body.as_deref().unwrap_or_default())
                    .map_err(|e| e.to_string())?;
            let results = v
                .get("results")
                .and_then(|x| x.as_array())
                .ok_or("no results")?;
            match results
                .iter()
                .find(|x| x.get("status").and_then(|s| s.as_u64()) != Some(201))
            {
                Some(bad) => Err(format!("an item answered {bad}")),
                None => Ok(()),
            }
        });
        http::run(
            &client,
            "batch of 1,000 (HTTP)",
            Limits {
                concurrency: 1,
                max_requests: batches,
                max_time: phase * 30,
            },
            Rc::new(move |i| {
                let from = batch_start + i as usize * 1_000;
                let items: Vec<serde_json::Value> = (from..from + 1_000)
                    .map(|j| {
                        let mut b = body(&l[j]);
                        b["client_ref"] = serde_json::json!(format!("bench-batch-{j}"));
                        b
                    })
                    .collect();
                Req::post(
                    format!("/api/v1/events/{ev}/donations/batch"),
                    serde_json::json!({ "items": items }).to_string(),
                    200,
                )
            }),
            Some(check),
        )
        .await
    };
    let target = LogTarget {
        event_id,
        drive_id,
        chapter_id: province_id,
        recorded_by: "hienmau-bench".to_owned(),
    };
    let raw_pool: Vec<String> = loggable.iter().skip(raw_start).cloned().collect();
    let raw_logs = plan.raw_logs.min(raw_pool.len() as u64);
    out.raw_logging = raw::measure(
        "single donation (raw SQL transaction)",
        raw_logs,
        phase * 5,
        |i| {
            let now = hienmau_db::now();
            raw::log_donation(raw_conn, &rules, &target, &raw_pool[i as usize], now, today)
        },
    );

    // Logging under a flood of sign-ins (wrong passwords, all hashed) and honors CSV exports,
    // against the same logging without it, in alternating rounds so that the machine's drift
    // over the run weighs on both sides alike; each side's rounds are pooled.
    let flood_start = raw_start + raw_logs as usize;
    let per_round = plan
        .flood_logs
        .min((loggable.len().saturating_sub(flood_start) / 2) as u64)
        / FLOOD_ROUNDS as u64;
    eprintln!(
        "   logging with and without a sign-in and export flood ({FLOOD_ROUNDS} rounds of {per_round} each)"
    );
    let logging_from = |from: usize, tag: String, name: &str| {
        let l = loggable.clone();
        let ev = target.event_id.clone();
        let c = client.clone();
        let name = name.to_owned();
        async move {
            http::run(
                &c,
                &name,
                Limits {
                    concurrency: FLOOD_LOGGERS,
                    max_requests: per_round,
                    max_time: phase * 10,
                },
                Rc::new(move |i| {
                    Req::post(
                        format!("/api/v1/events/{ev}/donations"),
                        body(&l[from + i as usize]).to_string(),
                        201,
                    )
                    .header("idempotency-key", format!("bench-{tag}-{i}"))
                }),
                None,
            )
            .await
        }
    };
    let (mut calm, mut flooded) = (Vec::new(), Vec::new());
    for round in 0..FLOOD_ROUNDS {
        let from = flood_start + 2 * round * per_round as usize;
        calm.push(logging_from(from, format!("calm-{round}"), "calm").await);
        let (stop, flood) = start_flood(
            server.base.clone(),
            token.clone(),
            args.flood_sign_ins,
            args.flood_exports,
        );
        // Measure the sustained flood: past the server's allowance for a burst of heavy work
        // (10 s of debt, which at the default 25 % busy share builds up in about 3.3 s).
        actix_rt::time::sleep(Duration::from_secs(FLOOD_WARM_UP_SECS)).await;
        let m = logging_from(
            from + per_round as usize,
            format!("flood-{round}"),
            "flooded",
        )
        .await;
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let (sign_ins, exports) = flood
            .join()
            .map_err(|_| BenchError::msg("the flood thread panicked"))?;
        eprintln!(
            "     round {round}: p99 {:.1} ms calm, {:.1} ms flooded",
            calm[round].p99_ms, m.p99_ms
        );
        flooded.push(m);
        out.flood_sign_ins += sign_ins;
        out.flood_exports += exports;
    }
    out.flood_base = Measured::pooled("single donation, no flood", &calm);
    out.flood = Measured::pooled("single donation, under the flood", &flooded);
    out.flood_rounds = calm
        .iter()
        .zip(&flooded)
        .map(|(c, f)| f.p99_ms / c.p99_ms.max(1e-9))
        .collect();
    Ok(())
}

/// Starts the flood on a thread of its own (so that reading its answers does not delay the
/// measuring client's): wrong-password sign-ins and honors CSV exports until told to stop.
fn start_flood(
    base: String,
    token: String,
    sign_ins: usize,
    exports: usize,
) -> (
    std::sync::Arc<std::sync::atomic::AtomicBool>,
    std::thread::JoinHandle<(http::FloodCount, http::FloodCount)>,
) {
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let handle = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            actix_rt::System::new().block_on(async move {
                let anon = Client::new(&base);
                let client = anon.with_token(&token);
                let sign_ins = actix_rt::spawn({
                    let stop = stop.clone();
                    async move {
                        http::flood(
                            &anon,
                            sign_ins,
                            Rc::new(|i| {
                                Req::post(
                                    "/api/v1/auth/login",
                                    serde_json::json!({
                                        "username": "bench.admin",
                                        "password": format!("wrong-{i}"),
                                    })
                                    .to_string(),
                                    401,
                                )
                            }),
                            stop,
                        )
                        .await
                    }
                });
                let exports = http::flood(
                    &client,
                    exports,
                    Rc::new(|_| Req::get("/api/v1/honors/eligible").header("accept", "text/csv")),
                    stop,
                )
                .await;
                (sign_ins.await.unwrap_or_default(), exports)
            })
        })
    };
    (stop, handle)
}

/// Seconds of flood before each flooded round is measured.
const FLOOD_WARM_UP_SECS: u64 = 6;
/// Alternating rounds of logging without and with the flood.
const FLOOD_ROUNDS: usize = 3;
/// Clients logging donations in the flood comparison.
const FLOOD_LOGGERS: usize = 4;

fn read_first_line(path: &str, prefix: &str) -> String {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(prefix))
                .map(|l| l.split_once(':').map_or(l, |x| x.1).trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".to_owned())
}

fn document(
    args: &Args,
    plan: &Plan,
    runs: &[BackendRun],
    total: Duration,
) -> Result<String, BenchError> {
    use std::fmt::Write as _;
    let mut s = String::new();
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mem = read_first_line("/proc/meminfo", "MemTotal");
    let cpu = read_first_line("/proc/cpuinfo", "model name");
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .unwrap_or_default()
        .trim()
        .to_owned();
    let mode = if args.quick { "quick" } else { "full" };
    let cmd = if args.quick {
        "cargo build --release -p hienmau-api -p hienmau-bench\ntarget/release/hienmau-bench --quick --write-docs docs/benchmarks.md"
    } else {
        "cargo build --release -p hienmau-api -p hienmau-bench\ntarget/release/hienmau-bench --write-docs docs/benchmarks.md"
    };
    let _ = writeln!(s, "# Benchmarks\n");
    let _ = writeln!(
        s,
        "Written by `hienmau-bench` (crate `crates/bench`); rerun it rather than editing this file. \
         Only ratios measured in the same run mean much: the machine is shared and noisy, and the \
         load generator runs on the same two cores as the server and the database.\n"
    );
    let _ = writeln!(s, "## The command\n\n```sh\n{cmd}\n```\n");
    let _ = writeln!(
        s,
        "`--quick` (30,000 donors, 200,000 donations, 2-second phases) proves the harness end to \
         end; the full run (3,000,000 donors, 20,000,000 donations, 10-second phases) is the one \
         the targets are set for and exits 1 when one is missed. `--backend sqlite|postgres|both`, \
         `--database-url` (PostgreSQL, dropped and recreated), `--sqlite-path`, `--concurrency`, \
         `--pool-size`, `--seed`, `--end-date`; `--help` lists them all.\n"
    );
    let _ = writeln!(s, "## This run\n");
    let _ = writeln!(
        s,
        "- mode: **{mode}** — {} donors, {} donation records over {} years (seed {}), phases of {} s, {} clients in the throughput phases",
        plan.donors,
        plan.donations,
        args.years,
        args.seed,
        plan.phase.as_secs(),
        args.concurrency
    );
    let _ = writeln!(
        s,
        "- machine: {cpus} CPUs ({cpu}), {mem} memory, Linux {kernel}; shared with other work"
    );
    let _ = writeln!(
        s,
        "- date: {}; whole run {:.0} s",
        Utc::now().format("%Y-%m-%d %H:%M UTC"),
        total.as_secs_f64()
    );
    let _ = writeln!(
        s,
        "- the server: the release `hienmau serve` as a child process on a loopback port, built-in \
         configuration except the per-caller limit on expensive routes (raised: one caller sends \
         all the load here), log filter `{}`\n",
        args.server_log
    );
    let _ = writeln!(s, "## How to read the figures\n");
    let _ = writeln!(
        s,
        "- *1 client*: one keep-alive connection, one request after another (latency). *N clients*: \
         that many concurrent keep-alive connections (throughput). Every read workload picks its \
         donor, drive, search term or request at random from the generated data.\n\
         - *raw SQL*: the same statements run directly on one connection to the same database — SQL \
         text through `diesel::sql_query`, no HTTP, no authentication, no query builder. Donor read: \
         the row and the highest award. Donor search: one page of 51 by folded name (`LIKE` per word) \
         or exact phone, and the page's awards in one statement. Drive tally: the six statements of \
         the tally. Candidates: the repository's own tier queries (query builder; the endpoint also \
         appends a hash-chained audit entry in the same transaction). Annual report and honors \
         list: the repositories' own SQL text. Logging: lock, read, eligibility rules, insert, counters, durable commit.\n\
         - Ratio target: endpoint p50 (1 client) ≤ `/health` p50 + 1.5 × raw p50.\n\
         - Memory: `VmRSS` of the server process from `/proc/<pid>/status`, sampled every 10 ms \
         during the honors export; the peak is `VmHWM`.\n"
    );
    let _ = writeln!(s, "## Figures\n");
    for r in runs {
        s.push_str(&r.markdown());
    }
    match std::fs::read_to_string(&args.notes) {
        Ok(notes) => {
            let _ = writeln!(
                s,
                "<!-- from {} (hand-written; the figures above are this run's) -->\n",
                args.notes.display()
            );
            s.push_str(&notes);
        }
        Err(e) => eprintln!("no notes included ({}: {e})", args.notes.display()),
    }
    Ok(s)
}
