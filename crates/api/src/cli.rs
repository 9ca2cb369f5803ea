//! The `hienmau` command line (see the contract's "Command line").

use std::io::BufRead;
use std::process::ExitCode;
use std::time::Duration;

use actix_web::HttpServer;
use clap::{Parser, Subcommand};

use crate::auth::Role;
use crate::settings::Settings;
use crate::startup;

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
    /// Manages users.
    User {
        /// What to do with users.
        #[command(subcommand)]
        command: UserCommand,
    },
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

fn parse_role(s: &str) -> Result<Role, String> {
    Role::parse(s).ok_or_else(|| "one of admin, coordinator, hospital, honors".to_owned())
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
        Command::Migrate => {
            let n = startup::migrate(&state).map_err(|e| e.to_string())?;
            println!("{n} migration(s) applied");
            Ok(())
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
            let id = crate::handlers::org::create_user_blocking(
                &state,
                &username,
                &password,
                role,
                chapter.map(|c| c.to_string()),
                hospital.map(|h| h.to_string()),
            )?;
            println!("{id}");
            Ok(())
        }
    }
}

/// Migrates (retrying in the background while the database is down), then serves.
fn serve(state: crate::AppState) -> Result<(), String> {
    let bind = state.settings.bind.clone();
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
        let app_state = state.clone();
        let server = HttpServer::new(move || crate::app(app_state.clone()))
            .bind(&bind)
            .map_err(|e| format!("cannot listen on {bind}: {e}"))?;
        tracing::info!(%bind, "serving");
        server.run().await.map_err(|e| e.to_string())
    })
}
