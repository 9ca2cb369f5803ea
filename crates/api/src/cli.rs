//! The `hienmau` command line (see the contract's "Command line").

use std::io::BufRead;
use std::process::ExitCode;
use std::time::Duration;

use actix_web::HttpServer;
use clap::{Parser, Subcommand};

use crate::app::org::{self, CreatedBy, NewAccount};
use crate::http::auth::Role;
use crate::http::startup;
use crate::settings::Settings;

/// hienmau: voluntary blood-donation drives for Red Cross chapters.
#[derive(Debug, Parser)]
#[command(name = "hienmau", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Runs pending migrations, then serves HTTP.
    Serve,
    /// Runs pending migrations and exits.
    Migrate,
    /// Loads a demonstration province (idempotent) and prints the accounts it created.
    Demo,
    /// Imports records kept elsewhere.
    Import {
        /// What to import.
        #[command(subcommand)]
        command: ImportCommand,
    },
    /// Checks the audit log's keyed hash chain.
    ///
    /// The chain is keyed with HIENMAU_AUDIT_KEY (on SQLite, when unset, the file
    /// `<database>.audit-key`, generated at the first start). Keys rotate at start-up: start
    /// any command (e.g. `hienmau migrate`) with the new key in HIENMAU_AUDIT_KEY and the old
    /// one in HIENMAU_AUDIT_PREVIOUS_KEYS (comma-separated); an `audit_key_rotated` entry is
    /// appended and the new key hashes every entry from it on. Keep the old keys: `verify`
    /// needs every key the chain has used.
    Audit {
        /// What to do with the audit log.
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Manages users.
    User {
        /// What to do with users.
        #[command(subcommand)]
        command: UserCommand,
    },
}

/// `hienmau audit …`.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Recomputes the keyed hash chain (needs HIENMAU_AUDIT_KEY, and the earlier keys in
    /// HIENMAU_AUDIT_PREVIOUS_KEYS after a rotation); exits 1 naming the first changed,
    /// deleted, reordered or re-chained entry. Prints the head as SEQ:HASH: keep it elsewhere
    /// and pass it later with --expect (the server also logs the head every hour).
    Verify {
        /// An anchor kept elsewhere: fails unless entry SEQ exists and has hash HASH
        /// (repeatable).
        #[arg(long, value_name = "SEQ:HASH", value_parser = parse_anchor)]
        expect: Vec<(i64, String)>,
    },
}

fn parse_anchor(s: &str) -> Result<(i64, String), String> {
    let (seq, hash) = s
        .split_once(':')
        .ok_or("expected SEQ:HASH, e.g. 42:9f86d081884c7d65…")?;
    let seq = seq
        .trim()
        .parse::<i64>()
        .map_err(|_| "SEQ must be an entry's sequence number")?;
    let hash = hash.trim().to_ascii_lowercase();
    if hash.len() != 64 || !hash.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err("HASH must be 64 hexadecimal digits".to_owned());
    }
    Ok((seq, hash))
}

/// `hienmau user …`.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Creates a user; the password is read from the first line of standard input.
    Create {
        /// Username.
        #[arg(long)]
        username: String,
        /// admin, coordinator, hospital or honors.
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// The coordinator's chapter id.
        #[arg(long)]
        chapter: Option<uuid::Uuid>,
        /// The hospital user's hospital id.
        #[arg(long)]
        hospital: Option<uuid::Uuid>,
    },
}

/// `hienmau import …`.
#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Imports a chapter's donor register from a CSV file (Vietnamese or English headers);
    /// see `hienmau_api::import` for the columns and rules.
    Donors {
        /// The CSV file (UTF-8).
        file: std::path::PathBuf,
        /// The chapter that registers the new donors.
        #[arg(long)]
        chapter: Option<uuid::Uuid>,
        /// Import the valid rows when some are invalid (by default nothing is written).
        #[arg(long)]
        skip_invalid: bool,
    },
}

fn parse_role(s: &str) -> Result<Role, String> {
    Role::parse(s).map_err(|e| e.to_string())
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = match Settings::load() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("hienmau: {e}");
            return ExitCode::from(2);
        }
    };
    startup::init_tracing(&settings);
    match run(cli.command, settings) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hienmau: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Runs one command.
pub fn run(command: Command, settings: Settings) -> Result<(), String> {
    let state = startup::build_state(settings).map_err(|e| e.to_string())?;
    match command {
        Command::Serve => serve(state),
        Command::Demo => {
            startup::migrate(&state).map_err(|e| e.to_string())?;
            print_demo(
                &state,
                crate::demo::load(&state).map_err(|e| e.to_string())?,
            );
            Ok(())
        }
        Command::Audit {
            command: AuditCommand::Verify { expect },
        } => verify_audit(&state, &expect),
        Command::Migrate => {
            let n = startup::migrate(&state).map_err(|e| e.to_string())?;
            println!("{n} migration(s) applied");
            Ok(())
        }
        Command::Import {
            command:
                ImportCommand::Donors {
                    file,
                    chapter,
                    skip_invalid,
                },
        } => {
            startup::migrate(&state).map_err(|e| e.to_string())?;
            let opts = crate::import::ImportOptions {
                chapter: chapter.map(|c| c.to_string()),
                skip_invalid,
            };
            match crate::import::import_donors(&state.pool, &state.ctx(), &file, &opts) {
                Ok(report) => {
                    print_import(&report);
                    Ok(())
                }
                Err(crate::import::ImportError::Invalid(report)) => {
                    print_import_problems(&report);
                    Err(crate::import::ImportError::Invalid(report).to_string())
                }
                Err(e) => Err(e.to_string()),
            }
        }
        Command::User {
            command:
                UserCommand::Create {
                    username,
                    role,
                    chapter,
                    hospital,
                },
        } => {
            startup::migrate(&state).map_err(|e| e.to_string())?;
            let mut password = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut password)
                .map_err(|e| format!("reading the password: {e}"))?;
            let password = password.trim_end_matches(['\r', '\n']).to_owned();
            let id = create_user(
                &state,
                NewAccount {
                    username,
                    password,
                    role,
                    chapter_id: chapter.map(|c| c.to_string()),
                    hospital_id: hospital.map(|h| h.to_string()),
                },
            )?;
            println!("{id}");
            Ok(())
        }
    }
}

/// `hienmau audit verify`: the schema is brought up to date, but the chain is only read (no
/// re-keying or rotation, and a missing SQLite key is never generated).
fn verify_audit(state: &crate::AppState, expect: &[(i64, String)]) -> Result<(), String> {
    let mut conn = state.pool.get().map_err(|e| e.to_string())?;
    hienmau_db::migrate(&mut conn).map_err(|e| e.to_string())?;
    let keys = startup::audit_keys(&state.settings, &mut conn, startup::MissingKey::Refuse)
        .map_err(|e| e.to_string())?;
    let report = crate::app::audit::verify(&mut conn, &keys, expect).map_err(|e| e.to_string())?;
    match report.broken {
        None => {
            let head = report
                .head
                .map(|(seq, hash)| format!("; head {seq}:{hash}"))
                .unwrap_or_default();
            println!(
                "audit log intact: {} entries, keyed hash chain verified{head}",
                report.entries
            );
            Ok(())
        }
        Some((seq, why)) => Err(format!("audit log tampered at entry {seq}: {why}")),
    }
}

/// `hienmau user create`: the rules of `POST /users`, the audit entry naming the command line
/// instead of a caller. Answers the new user's id. (The test harness creates its admin so.)
pub fn create_user(state: &crate::AppState, account: NewAccount) -> Result<String, String> {
    org::check_new_user(&account).map_err(|e| e.to_string())?;
    let password_hash = crate::http::auth::password::hash_blocking(&account.password)?;
    let cmd = account.with_hash(password_hash);
    let mut conn = state.pool.get().map_err(|e| e.to_string())?;
    let user = hienmau_db::write_tx(&mut conn, |tx| {
        org::create_user(tx, CreatedBy::Operator { via: "cli" }, cmd)
    })
    .map_err(|e| e.to_string())?;
    Ok(user.id)
}

/// Migrates (retrying in the background while the database is down), then serves.
fn serve(state: crate::AppState) -> Result<(), String> {
    let bind = state.settings.bind.clone();
    // Checked before anything else starts: a half-configured HTTPS must not serve plain HTTP.
    let tls = crate::http::tls::server_config(&state.settings)?;
    actix_web::rt::System::new().block_on(async move {
        let migrator = state.clone();
        // A database that is down at start must not stop the process: /ready answers 503 and
        // the migrations run as soon as it answers.
        let migrated = actix_web::web::block(move || startup::migrate(&migrator)).await;
        match migrated {
            Ok(Ok(n)) => tracing::info!(applied = n, "migrations up to date"),
            Ok(Err(hienmau_db::DbError::Unavailable(e))) => {
                tracing::warn!(error = %e, "database unavailable at start; migrating when it answers");
                let retry = state.clone();
                std::thread::spawn(move || loop {
                    std::thread::sleep(Duration::from_secs(2));
                    match startup::migrate(&retry) {
                        Ok(n) => {
                            tracing::info!(applied = n, "migrations up to date");
                            break;
                        }
                        Err(e) => tracing::warn!(error = %e, "migrations still waiting"),
                    }
                });
            }
            Ok(Err(e)) => return Err(format!("migrations failed: {e}")),
            Err(e) => return Err(e.to_string()),
        }
        startup::spawn_maintenance(state.clone());
        let app_state = state.clone();
        // Slow or stalled clients are cut off: a request's head must arrive within 10 s, and
        // idle keep-alive connections close after 75 s.
        let server = HttpServer::new(move || crate::http::server::app(app_state.clone()))
            .on_connect(crate::http::stream::on_connect)
            .client_request_timeout(Duration::from_secs(10))
            .client_disconnect_timeout(Duration::from_secs(5))
            .keep_alive(Duration::from_secs(75));
        let https = tls.is_some();
        let server = match tls {
            Some(config) => server.bind_rustls_0_23(&bind, config),
            None => server.bind(&bind),
        }
        .map_err(|e| format!("cannot listen on {bind}: {e}"))?;
        tracing::info!(%bind, https, "serving");
        server.run().await.map_err(|e| e.to_string())
    })
}

fn print_demo(state: &crate::AppState, result: crate::demo::DemoResult) {
    use crate::demo::DemoResult;
    let (accounts, summary) = match result {
        DemoResult::AlreadyLoaded => {
            println!(
                "The demonstration data is already loaded; nothing was written. Its accounts \
                 are the ones printed the first time (an admin can reset a password with \
                 PATCH /api/v1/users/{{id}})."
            );
            return;
        }
        DemoResult::Loaded { accounts, summary } => (accounts, summary),
    };
    println!("Loaded a demonstration province modelled on Lào Cai's 2023 report:");
    println!(
        "  {} chapters, {} donors, {} drives with {} events, {} units at events, {} deferrals, {} emergency units",
        summary.chapters,
        summary.donors,
        summary.drives,
        summary.events,
        summary.drive_units,
        summary.deferrals,
        summary.emergency_units
    );
    println!();
    println!("Accounts (passwords are shown this once):");
    for a in &accounts {
        println!(
            "  {:<26} {:<18} {:<12} {}",
            a.username,
            a.password,
            a.role.as_str(),
            a.scope
        );
    }
    let base = format!("http://{}", state.settings.bind);
    if let Some(c) = accounts.iter().find(|a| a.username == "demo.coordinator") {
        println!();
        println!("Try it (start the server with `hienmau serve` first):");
        println!(
            "  TOKEN=$(curl -s -X POST {base}/api/v1/auth/login -H 'content-type: application/json' \\\n    -d '{{\"username\":\"{}\",\"password\":\"{}\"}}' | sed 's/.*\"access_token\":\"\\([^\"]*\\)\".*/\\1/')",
            c.username, c.password
        );
        println!(
            "  curl -s {base}/api/v1/drives/{}/tally -H \"Authorization: Bearer $TOKEN\"",
            summary.first_drive_id
        );
    }
}

fn print_import_problems(report: &crate::import::ImportReport) {
    for column in &report.ignored_columns {
        let column = terminal_safe(column);
        eprintln!("warning: column \"{column}\" is not one the import knows; ignored");
    }
    for row in &report.invalid {
        eprintln!("{}", terminal_safe(&row.to_string()));
    }
}

/// Text from a file or the database made safe to print: control characters (which can move
/// the cursor, rewrite earlier lines or retitle the terminal) and bidirectional overrides
/// (which make text read differently from what it is) are shown as `\u{…}` escapes.
pub fn terminal_safe(text: &str) -> std::borrow::Cow<'_, str> {
    fn unsafe_char(c: char) -> bool {
        c.is_control()
            || matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
    }
    if !text.chars().any(unsafe_char) {
        return std::borrow::Cow::Borrowed(text);
    }
    std::borrow::Cow::Owned(
        text.chars()
            .map(|c| {
                if unsafe_char(c) {
                    format!("\\u{{{:04x}}}", u32::from(c))
                } else {
                    c.to_string()
                }
            })
            .collect(),
    )
}

fn print_import(report: &crate::import::ImportReport) {
    print_import_problems(report);
    println!(
        "created {}, updated {}, skipped {} ({} unchanged, {} invalid)",
        report.created,
        report.updated,
        report.unchanged + report.invalid.len(),
        report.unchanged,
        report.invalid.len()
    );
}

#[cfg(test)]
mod tests {
    use super::terminal_safe;

    #[test]
    fn control_and_bidi_characters_are_escaped() {
        for (input, shown) in [
            ("Giàng Thị Dung", "Giàng Thị Dung"),
            ("a\u{1b}[2Jb", "a\\u{001b}[2Jb"),
            ("line\rover", "line\\u{000d}over"),
            ("two\nlines", "two\\u{000a}lines"),
            ("abc\u{202E}fdp.exe", "abc\\u{202e}fdp.exe"),
            ("\u{2066}x\u{2069}", "\\u{2066}x\\u{2069}"),
            ("tab\there", "tab\\u{0009}here"),
        ] {
            assert_eq!(terminal_safe(input), shown, "{input:?}");
        }
    }
}
