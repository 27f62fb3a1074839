//! The command line (clap). Every subcommand has `--help` (short) and `--help` long text with its
//! exit status; the completions and the man page (`completions`, `man`) come from these same
//! definitions. Every `REENTRY_*` variable is read here, by clap, and nowhere else.

use std::path::PathBuf;

use chrono::NaiveDate;
use clap::builder::{BoolishValueParser, PossibleValue, PossibleValuesParser, TypedValueParser};
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::domain::{Band, Role};
use crate::theme::ColorChoice;

/// The exit status a command line error gets (sysexits' EX_USAGE), so it is never mistaken for
/// one of the statuses below that monitoring reads.
pub const EXIT_USAGE: u8 = 64;

const EXIT_PLAIN: &str = "Exit status: 0 done; 1 failed (the message says what and where); \
                          64 the command line is wrong.";
const EXIT_SERVICE: &str = "Exit status: 0 stopped cleanly (ctrl-c or SIGTERM); 1 failed to start \
                            or failed while running (the message says why); 64 the command line \
                            is wrong.";
const EXIT_SYNC: &str = "Exit status: 0 stopped cleanly, or with --once: everything is delivered; \
                         2 (--once) events still wait for the hub (unreachable, backing off, \
                         paused); 3 (--once) dead-lettered or blocked events need a coordinator \
                         (`sync status`); 1 failed (bad settings, database problem); 64 the \
                         command line is wrong.";
const EXIT_CHECK: &str = "Exit status (as monitoring plugins use it): 0 OK; 2 CRITICAL: the \
                          database is damaged (integrity or foreign keys) or its audit trail was \
                          altered; 3 UNKNOWN: the file could not be checked (missing, unreadable, \
                          not a reentry-board database); 64 the command line is wrong.";

#[derive(Debug, Parser)]
#[command(
    name = "reentry-board",
    version,
    about = "Release-planning board for the CalAIM Justice-Involved Reentry Initiative",
    long_about = "The shared board of the daily release-planning meeting: who is releasing soon, \
                  what is missing and what is overdue by the program's timeline.\n\n\
                  Without a subcommand, opens the board (same as `reentry-board board`)."
)]
#[command(after_long_help = EXIT_PLAIN)]
pub struct Cli {
    /// Config file (TOML). Default: $XDG_CONFIG_HOME/reentry-board/config.toml if present. Its
    /// `database` key is the database of every command that does not get --db.
    #[arg(long, global = true, value_name = "PATH", env = "REENTRY_BOARD_CONFIG")]
    pub config: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Option<Command>,

    #[command(flatten)]
    pub board: BoardArgs,
}

/// The command line as parsed, helped, completed and documented: the derive's definition, with
/// an exit-status paragraph on every command that does not say its own (clap has no inheritance
/// for it). `main`, `completions` and `man` all use this.
pub fn command() -> clap::Command {
    fn exit_status(command: clap::Command) -> clap::Command {
        let command = if command.get_after_long_help().is_none() {
            command.after_long_help(EXIT_PLAIN)
        } else {
            command
        };
        // Help shows which variable sets an option, never the value it has here.
        let command = command.mut_args(|arg| arg.hide_env_values(true));
        let names: Vec<String> = command
            .get_subcommands()
            .map(|s| s.get_name().to_string())
            .collect();
        names.iter().fold(command, |command, name| {
            command.mut_subcommand(name, exit_status)
        })
    }
    exit_status(<Cli as clap::CommandFactory>::command())
}

/// For a bad value that came from the environment rather than the command line: the variable's
/// name, so a service's operator knows which line of the unit or its environment file to fix.
pub fn env_source(error: &clap::Error) -> Option<String> {
    use clap::error::{ContextKind, ContextValue};
    let text = |kind| match error.get(kind) {
        Some(ContextValue::String(s)) => Some(s.clone()),
        _ => None,
    };
    let (arg, value) = (
        text(ContextKind::InvalidArg)?,
        text(ContextKind::InvalidValue)?,
    );
    fn find(command: &clap::Command, arg: &str, value: &str) -> Option<String> {
        let here = command.get_arguments().find_map(|a| {
            let long = a.get_long()?;
            let env = a.get_env()?;
            let set = std::env::var_os(env)?;
            (arg.starts_with(&format!("--{long}")) && set.to_string_lossy() == value)
                .then(|| env.to_string_lossy().into_owned())
        });
        here.or_else(|| {
            command
                .get_subcommands()
                .find_map(|sub| find(sub, arg, value))
        })
    }
    find(&command(), &arg, &value)
}

impl Cli {
    /// Parses `std::env::args_os()` with [`command`].
    pub fn try_parse_env() -> Result<Self, clap::Error> {
        let matches = command().try_get_matches()?;
        <Self as clap::FromArgMatches>::from_arg_matches(&matches)
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Open the board on a database (the default command).
    #[command(after_long_help = EXIT_PLAIN)]
    Board(BoardArgs),
    /// Open the board on built-in demo data (creates or reuses a demo database in your data
    /// directory and makes you a coordinator there).
    #[command(after_long_help = EXIT_PLAIN)]
    Demo(DemoArgs),
    /// Create a database, empty or seeded, without opening the board.
    #[command(after_long_help = EXIT_PLAIN)]
    Init(InitArgs),
    /// Print the board as computed for a day, one record per person in custody, soonest first.
    #[command(after_long_help = EXIT_PLAIN)]
    Export(ExportArgs),
    /// Who may do what: list users, add one, change a role.
    #[command(after_long_help = EXIT_PLAIN)]
    Users(UsersArgs),
    /// Run the reference central API server (the hub), or manage its facility tokens.
    #[command(
        long_about = "Without a subcommand, serves the /v1 API of docs/API.md, e.g.\n\n  \
                      reentry-board hub --listen 0.0.0.0:8443 --db hub.db --tls-cert cert.pem \
                      --tls-key key.pem\n\n\
                      --db names a SQLite file (one hub process) or a PostgreSQL database, \
                      postgres://USER@HOST/DB?sslmode=verify-full&sslrootcert=CA.pem, that any \
                      number of hub processes share behind one address; the password comes from \
                      --db-password-file, PGPASSWORD or the pgpass file, never the URL.\n\n\
                      Each flag is also a key of the config file's [hub] section (the flag wins), \
                      so a service needs only --config. Prints `hub listening on URL` once it \
                      accepts connections; on SIGHUP it reads the certificate, key and client CA \
                      files again (new connections use them; a bad file keeps the old ones and \
                      logs why); on ctrl-c or SIGTERM it stops accepting and lets requests in \
                      progress finish.",
        after_long_help = EXIT_SERVICE
    )]
    Hub(HubArgs),
    /// Send queued events to the central API (a long-running service, or `--once`), or look at
    /// and handle undeliverable ones.
    #[command(
        long_about = "Without a subcommand, sends the database's queued events to the hub until \
                      stopped (ctrl-c or SIGTERM), e.g.\n\n  \
                      reentry-board sync --db board.db --url https://hub.county.example \
                      --token-file /etc/reentry-board/token\n\n\
                      Each setting is also an environment variable and a key of the config \
                      file's [sync] section (flag > environment > file). With --once it sends \
                      what is due and exits with a status a cron job or script can read (below).",
        after_long_help = EXIT_SYNC
    )]
    Sync(SyncArgs),
    /// Serve the board over SSH: each key in --authorized-keys gets its own board session.
    #[command(
        long_about = "Serve the board over SSH with a built-in SSH server: staff run \
                      `ssh -p 2222 HOST` and land in the board, identified by their key, with no \
                      shell account. Prints the host key's fingerprint and `ssh server listening \
                      on ADDR`; on ctrl-c or SIGTERM every session gets a goodbye line.\n\n  \
                      reentry-board serve --listen 0.0.0.0:2222 --db board.db \
                      --host-key /var/lib/reentry-board/host_key \
                      --authorized-keys /etc/reentry-board/authorized_keys\n\n\
                      Each flag is also a key of the config file's [serve] section (the flag \
                      wins), so a service needs only --config.",
        after_long_help = EXIT_SERVICE
    )]
    Serve(ServeArgs),
    /// Import a CSV file: the jail's roster (default), the care-manager directory, facilities or
    /// medication lists. Checked in full first; nothing is imported if any row is rejected.
    #[command(
        after_long_help = "Exit status: 0 imported (or, with --dry-run, checked); 1 \
                                 rejected rows (nothing imported) or another failure; 64 the \
                                 command line is wrong."
    )]
    Import(ImportArgs),
    /// People who left the roster feed: list them, confirm a release or a transfer.
    #[command(after_long_help = EXIT_PLAIN)]
    Roster(RosterArgs),
    /// Program measures for people released in a period, each with its denominator.
    #[command(after_long_help = EXIT_PLAIN)]
    Report(ReportArgs),
    /// The minutes of the last meeting (of a day): attendees, people reviewed, decisions, tasks.
    #[command(after_long_help = EXIT_PLAIN)]
    Minutes(MinutesArgs),
    /// Copy the database to a file while it is in use (SQLite's online backup), with a checksum.
    #[command(
        long_about = "Copy the database to FILE while boards, the SSH server and the sender keep \
                      working: SQLite's online backup copies one consistent state, everything \
                      committed before the copy began. Beside FILE goes FILE.sha256 (the \
                      checksum, in `sha256sum -c` form) and the manifest FILE.json (schema \
                      version, counts, time, checksum), which `restore` checks.\n\n  \
                      reentry-board backup --to /var/backups/reentry-board/board-$(date +%F).db",
        after_long_help = EXIT_PLAIN
    )]
    Backup(BackupArgs),
    /// Replace the database with a backup, after checking it; the replaced one is kept aside.
    #[command(
        long_about = "Replace the database with a backup made by `backup`. The file is checked \
                      first and refused if its checksum does not match its manifest, if \
                      `PRAGMA integrity_check` finds damage, if it is not a reentry-board \
                      database or if it is from a newer schema than this program knows. The \
                      database it replaces is copied aside first, as DB.replaced-TIMESTAMP. Stop \
                      the `sync` service first: restore refuses while a sender runs.\n\n\
                      After a restore the hub may hold events the restored database does not \
                      have; the sender then reports those people as blocked (see \
                      docs/OPERATIONS.md, dead and blocked events).",
        after_long_help = EXIT_PLAIN
    )]
    Restore(RestoreArgs),
    /// Check the database: integrity, foreign keys and the audit trail; one line, for monitoring.
    #[command(
        long_about = "Check the database: SQLite's full integrity check, the foreign keys, and \
                      the audit trail's hash chain (every audit row is linked to the one before \
                      it, so an audit row edited, removed or slipped in by hand shows). Prints \
                      one line, `OK: ...` or `CRITICAL: ...`, and exits with a status monitoring \
                      understands. Reads only; safe while everything runs.",
        after_long_help = EXIT_CHECK
    )]
    Check(CheckArgs),
    /// Print the shell completion script for SHELL (bash, zsh, fish, elvish, powershell).
    #[command(
        long_about = "Print the shell completion script for SHELL, made from this program's own \
                      command line, e.g.\n\n  \
                      reentry-board completions bash > /etc/bash_completion.d/reentry-board",
        after_long_help = EXIT_PLAIN
    )]
    Completions(CompletionsArgs),
    /// Print the man page (roff), or write one page per command into a directory.
    #[command(after_long_help = EXIT_PLAIN)]
    Man(ManArgs),
}

#[derive(Debug, Clone, Args)]
pub struct BackupArgs {
    #[command(flatten)]
    pub db: DbArg,
    /// The backup file to write (it must not exist yet).
    #[arg(long, value_name = "FILE")]
    pub to: PathBuf,
}

#[derive(Debug, Clone, Args)]
pub struct RestoreArgs {
    #[command(flatten)]
    pub db: DbArg,
    /// The backup file to restore.
    #[arg(long, value_name = "FILE")]
    pub from: PathBuf,
}

#[derive(Debug, Clone, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub db: DbArg,
}

#[derive(Debug, Clone, Args)]
pub struct CompletionsArgs {
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Clone, Args)]
pub struct ManArgs {
    /// Write reentry-board.1 and one reentry-board-COMMAND.1 per command into DIR instead of
    /// printing the main page.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// The sender's settings. Each is also a key of the config file's `[sync]` section; the flag or
/// variable wins. The board and the SSH server take them too, since they send when no `sync`
/// service runs.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Sending to the central API")]
pub struct SyncConnArgs {
    /// The hub's base URL: https, or http to loopback only.
    #[arg(long, value_name = "URL", env = "REENTRY_SYNC_URL")]
    pub url: Option<String>,
    /// The facility the token belongs to; must match the database's facility id.
    #[arg(long, value_name = "ID", env = "REENTRY_SYNC_FACILITY")]
    pub facility: Option<String>,
    /// File holding the bearer token (mode 0600; `#` lines are ignored).
    #[arg(long, value_name = "PATH", env = "REENTRY_SYNC_TOKEN_FILE")]
    pub token_file: Option<PathBuf>,
    /// PEM file of the county CA certificate(s), added to the system roots.
    #[arg(long, value_name = "PEM", env = "REENTRY_SYNC_CA_FILE")]
    pub ca_file: Option<PathBuf>,
    /// Trust only --ca-file, not the system roots (`--ca-only=false` undoes the file's setting;
    /// the variable takes 1/true/yes or 0/false/no).
    #[arg(
        long,
        value_name = "BOOL",
        env = "REENTRY_SYNC_CA_ONLY",
        value_parser = BoolishValueParser::new(),
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true",
        hide_possible_values = true
    )]
    pub ca_only: Option<bool>,
    /// PEM client certificate, for hubs that require mutual TLS (with --client-key).
    #[arg(long, value_name = "PEM", env = "REENTRY_SYNC_CLIENT_CERT")]
    pub client_cert: Option<PathBuf>,
    /// PEM private key of --client-cert.
    #[arg(long, value_name = "PEM", env = "REENTRY_SYNC_CLIENT_KEY")]
    pub client_key: Option<PathBuf>,
    /// Seconds to wait for a connection (default 5).
    #[arg(long, value_name = "SECS", env = "REENTRY_SYNC_CONNECT_TIMEOUT",
          value_parser = clap::value_parser!(u64).range(1..))]
    pub connect_timeout: Option<u64>,
    /// Seconds to wait for an answer (default 30).
    #[arg(long, value_name = "SECS", env = "REENTRY_SYNC_REQUEST_TIMEOUT",
          value_parser = clap::value_parser!(u64).range(1..))]
    pub request_timeout: Option<u64>,
    /// Events per request, 1 to 100 (default 100).
    #[arg(long, value_name = "N", env = "REENTRY_SYNC_BATCH_SIZE",
          value_parser = batch_size)]
    pub batch_size: Option<usize>,
    /// Backoff base in milliseconds (tests; default 1000).
    #[arg(
        long,
        value_name = "MS",
        env = "REENTRY_SYNC_BACKOFF_BASE_MS",
        hide = true
    )]
    pub backoff_base_ms: Option<u64>,
    /// How often a paused queue tries again, in milliseconds (tests; default 60000).
    #[arg(
        long,
        value_name = "MS",
        env = "REENTRY_SYNC_PAUSE_PROBE_MS",
        hide = true
    )]
    pub pause_probe_ms: Option<u64>,
    /// What to speak: `native` (docs/API.md) or `fhir` (FHIR R4 transactions to the base URL
    /// --url; docs/FHIR.md).
    #[arg(long, value_enum, value_name = "FORMAT", env = "REENTRY_SYNC_FORMAT")]
    pub format: Option<crate::sync::settings::SyncFormat>,
    /// With --format fhir: who receives it; 42 CFR Part 2 items go only where the person's
    /// consent covers that recipient (default health-plan).
    #[arg(
        long,
        value_enum,
        value_name = "WHO",
        env = "REENTRY_SYNC_FHIR_RECIPIENT"
    )]
    pub fhir_recipient: Option<crate::fhir::Recipient>,
}

impl SyncConnArgs {
    /// What the flags and variables say, for [`crate::sync::SyncSettings::resolve`].
    pub fn overrides(&self) -> crate::sync::SyncOverrides {
        use std::time::Duration;
        crate::sync::SyncOverrides {
            url: self.url.clone(),
            facility_id: self.facility.clone(),
            token_file: self.token_file.clone(),
            ca_file: self.ca_file.clone(),
            ca_only: self.ca_only,
            client_cert: self.client_cert.clone(),
            client_key: self.client_key.clone(),
            connect_timeout_secs: self.connect_timeout,
            request_timeout_secs: self.request_timeout,
            batch_size: self.batch_size,
            backoff_base: self.backoff_base_ms.map(Duration::from_millis),
            pause_probe: self.pause_probe_ms.map(Duration::from_millis),
            format: self.format,
            fhir_recipient: self.fhir_recipient,
        }
    }
}

fn batch_size(s: &str) -> Result<usize, String> {
    let max = crate::hub::MAX_BATCH;
    match s.trim().parse::<usize>() {
        Ok(n) if (1..=max).contains(&n) => Ok(n),
        _ => Err(format!("`{s}` is not a batch size from 1 to {max}")),
    }
}

/// A value list made from one of the domain's code enums: the codes are the values (shown in help
/// and completions, with their labels), and `care-manager` is taken for `care_manager`.
fn codes<T>() -> impl TypedValueParser<Value = T>
where
    T: strum::IntoEnumIterator
        + Into<&'static str>
        + std::str::FromStr<Err = strum::ParseError>
        + Clone
        + Send
        + Sync
        + 'static,
{
    PossibleValuesParser::new(T::iter().map(|value| {
        let code: &'static str = value.into();
        let dashed = code.replace('_', "-");
        let possible = PossibleValue::new(code);
        if dashed == code {
            possible
        } else {
            possible.alias(dashed)
        }
    }))
    .try_map(|s: String| s.replace('-', "_").parse::<T>())
}

#[derive(Debug, Clone, Args)]
pub struct DbArg {
    /// The database file (default: the config file's `database`).
    #[arg(long, value_name = "PATH", env = "REENTRY_BOARD_DB")]
    pub db: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct BoardArgs {
    #[command(flatten)]
    pub db: DbArg,
    #[command(flatten)]
    pub view: ViewArgs,
    #[command(flatten)]
    pub sync: SyncConnArgs,
}

#[derive(Debug, Clone, Args)]
pub struct ViewArgs {
    /// Show the board as of this day (YYYY-MM-DD), e.g. next Monday's.
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_date)]
    pub as_of: Option<NaiveDate>,
    /// Replace glyphs and box drawing with ASCII for fonts that lack them.
    #[arg(long)]
    pub ascii: bool,
    /// Colour theme: default, light, high-contrast, colorblind, mono, or a file
    /// `<config dir>/themes/NAME.toml`.
    #[arg(
        long,
        value_name = "NAME",
        default_value = "default",
        env = "REENTRY_BOARD_THEME"
    )]
    pub theme: String,
    /// How many colours to use; `auto` reads NO_COLOR, COLORTERM and TERM.
    #[arg(long, value_enum, value_name = "WHEN", default_value = "auto")]
    pub color: ColorChoice,
    /// Meeting-room display: read-only presentation mode that cannot be left, no idle lock.
    #[arg(long)]
    pub kiosk: bool,
    /// Click to select a person and scroll with the wheel (off: the terminal keeps text selection).
    #[arg(long)]
    pub mouse: bool,
}

#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    #[command(flatten)]
    pub view: ViewArgs,
    /// Throw the existing demo database away and seed a fresh one.
    #[arg(long)]
    pub reset: bool,
    #[command(flatten)]
    pub sync: SyncConnArgs,
}

#[derive(Debug, Clone, Args)]
pub struct InitArgs {
    /// The database file to create (it must not exist yet); default the config's `database`.
    #[arg(long, value_name = "PATH", env = "REENTRY_BOARD_DB")]
    pub db: Option<PathBuf>,
    /// Seed the built-in synthetic demo roster, dated from today.
    #[arg(long)]
    pub demo: bool,
    /// With --demo: seed N generated synthetic people instead (deterministic), e.g. for
    /// benchmarks; at most 1,000,000.
    #[arg(long, value_name = "N", requires = "demo", value_parser = parse_people)]
    pub people: Option<usize>,
    /// With --people: the generator's seed.
    #[arg(long, value_name = "SEED", default_value_t = 1, requires = "people")]
    pub seed: u64,
    /// Count the demo's dates from this day instead of today.
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_date)]
    pub as_of: Option<NaiveDate>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    Json,
    Csv,
    /// The printable daily packet (Markdown), presentation-safe unless --full.
    Md,
    /// FHIR R4 (docs/FHIR.md): one transaction Bundle per person, released people included;
    /// with --bulk, one file of resources per type (FHIR Bulk Data's NDJSON).
    Fhir,
}

#[derive(Debug, Clone, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub db: DbArg,
    #[arg(long, value_enum)]
    pub format: ExportFormat,
    /// Compute the board as of this day (default: today).
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_date)]
    pub as_of: Option<NaiveDate>,
    #[command(flatten)]
    pub filter: FilterArgs,
    /// With --format md: full names and medication names (not for shared screens or printouts
    /// that leave the team).
    #[arg(long)]
    pub full: bool,
    /// With --format csv: for Excel, a UTF-8 byte-order mark (accented names show right) and
    /// CRLF line ends.
    #[arg(long)]
    pub excel: bool,
    /// With --format fhir: who receives it; 42 CFR Part 2 items go only where the person's
    /// consent covers that recipient.
    #[arg(long, value_enum, default_value = "health-plan")]
    pub recipient: crate::fhir::Recipient,
    /// With --format fhir: resources grouped by type, one resource a line, into --out's
    /// `Type.ndjson` files and a `manifest.json`.
    #[arg(long, requires = "out")]
    pub bulk: bool,
    /// With --format fhir: write files into this directory (created if missing) instead of
    /// stdout: one `<Patient id>.json` Bundle per person, or the --bulk files.
    #[arg(long, value_name = "DIR")]
    pub out: Option<std::path::PathBuf>,
}

/// The board's filters, for exports.
#[derive(Debug, Clone, Default, Args)]
pub struct FilterArgs {
    /// Only this facility (its id).
    #[arg(long, value_name = "ID")]
    pub facility: Option<String>,
    /// Only this housing unit.
    #[arg(long, value_name = "UNIT")]
    pub unit: Option<String>,
    /// Only people with this pre-release care manager (directory id).
    #[arg(long, value_name = "CONTACT_ID")]
    pub care_manager: Option<String>,
    /// Only one band of the board.
    #[arg(long, value_name = "BAND", value_parser = codes::<Band>())]
    pub band: Option<Band>,
    /// Only people at risk (overdue or blocked work, or due soon inside 14 days).
    #[arg(long)]
    pub at_risk: bool,
    /// Only names or booking numbers containing every word (accents and case ignored).
    #[arg(long, value_name = "WORDS")]
    pub search: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ImportKind {
    /// The jail's roster (see --map).
    Roster,
    /// The care-team directory: id,name,organisation,phone,kind.
    Directory,
    /// Facilities: id,name,kind.
    Facilities,
    /// Medications: booking_id,name,class,lai,next_dose,supply.
    Medications,
}

#[derive(Debug, Clone, Args)]
pub struct ImportArgs {
    #[command(flatten)]
    pub db: DbArg,
    /// The CSV file.
    #[arg(value_name = "FILE.csv")]
    pub file: PathBuf,
    #[arg(long, value_enum, default_value = "roster")]
    pub kind: ImportKind,
    /// Roster mapping file (TOML): column names, delimiter, date format.
    #[arg(long, value_name = "MAPPING.toml")]
    pub map: Option<PathBuf>,
    /// Print what would change (new, changed, unchanged, missing, rejected); change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Import the valid rows even if some are rejected, and list the skipped ones.
    #[arg(long)]
    pub skip_invalid: bool,
    /// Treat this day as today (booking day of new people, the bounds of date checks).
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_date)]
    pub as_of: Option<NaiveDate>,
}

#[derive(Debug, Clone, Args)]
pub struct RosterArgs {
    /// The database file (default: the config file's `database`).
    #[arg(long, value_name = "PATH", env = "REENTRY_BOARD_DB", global = true)]
    pub db: Option<PathBuf>,
    #[command(subcommand)]
    pub action: RosterAction,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DepartureKind {
    Released,
    Transferred,
}

#[derive(Debug, Clone, Subcommand)]
pub enum RosterAction {
    /// People who are no longer in the roster feed: released or transferred?
    Left,
    /// Confirm how someone left custody (audited; sends person_released / person_transferred).
    Confirm {
        /// The booking number.
        booking: String,
        #[arg(value_enum)]
        how: DepartureKind,
        /// The day it happened (default: today).
        #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_date)]
        on: Option<NaiveDate>,
        /// Why, or how it is known (e.g. "released from court").
        #[arg(long, default_value = "")]
        reason: String,
        /// For a transfer: where to.
        #[arg(
            long,
            value_name = "KIND",
            default_value = "other",
            value_parser = PossibleValuesParser::new(crate::store::DESTINATION_KINDS)
        )]
        destination: String,
        /// For a transfer: a few words on where to.
        #[arg(long, value_name = "TEXT", default_value = "")]
        destination_text: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    Md,
    Csv,
    Json,
}

#[derive(Debug, Clone, Args)]
pub struct ReportArgs {
    #[command(flatten)]
    pub db: DbArg,
    /// First release day of the period.
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_date)]
    pub from: NaiveDate,
    /// Last release day of the period (inclusive).
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_date)]
    pub to: NaiveDate,
    #[arg(long, value_enum, default_value = "md")]
    pub format: ReportFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MinutesFormat {
    Md,
    Csv,
}

#[derive(Debug, Clone, Args)]
pub struct MinutesArgs {
    #[command(flatten)]
    pub db: DbArg,
    /// The meeting's day (the last meeting held that day); default the last meeting.
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_date)]
    pub date: Option<NaiveDate>,
    #[arg(long, value_enum, default_value = "md")]
    pub format: MinutesFormat,
}

#[derive(Debug, Clone, Args)]
pub struct UsersArgs {
    /// The database file (default: the config file's `database`).
    #[arg(long, value_name = "PATH", env = "REENTRY_BOARD_DB", global = true)]
    pub db: Option<PathBuf>,
    #[command(subcommand)]
    pub action: UsersAction,
}

#[derive(Debug, Clone, Subcommand)]
pub enum UsersAction {
    /// List users and their roles.
    List,
    /// Add a user (needs the coordinator role, except for the very first user).
    Add {
        /// The user's OS / SSH login.
        login: String,
        #[arg(long, value_parser = codes::<Role>())]
        role: Role,
        /// Display name.
        #[arg(long)]
        name: Option<String>,
    },
    /// Change a user's role.
    SetRole {
        login: String,
        #[arg(value_parser = codes::<Role>())]
        role: Role,
    },
}

#[derive(Debug, Clone, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct HubArgs {
    #[command(subcommand)]
    pub action: Option<HubAction>,
    #[command(flatten)]
    pub serve: HubServeArgs,
}

#[derive(Debug, Clone, Args)]
pub struct HubServeArgs {
    /// Address to listen on (default 127.0.0.1:8080); port 0 picks a free port (the printed
    /// line says which).
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<std::net::SocketAddr>,
    /// The hub's database: a SQLite file, created if missing, or a PostgreSQL URL
    /// `postgres://USER@HOST:PORT/DB[?sslmode=verify-full&sslrootcert=CA.pem]` shared by several
    /// hub processes (default: `database` in [hub]).
    #[arg(long, value_name = "PATH|URL", env = "REENTRY_HUB_DB")]
    pub db: Option<PathBuf>,
    /// File holding the PostgreSQL password (else PGPASSWORD, else PGPASSFILE or ~/.pgpass);
    /// never put it in the URL.
    #[arg(long, value_name = "PATH", env = "REENTRY_HUB_DB_PASSWORD_FILE")]
    pub db_password_file: Option<PathBuf>,
    /// PEM certificate chain: serve HTTPS (with --tls-key). Re-read on SIGHUP.
    #[arg(long, value_name = "PEM")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert. Re-read on SIGHUP.
    #[arg(long, value_name = "PEM")]
    pub tls_key: Option<PathBuf>,
    /// PEM file of the CA certificate(s) whose client certificates the hub requires: a client
    /// without one signed by them is refused during the TLS handshake. Re-read on SIGHUP.
    #[arg(long, value_name = "PEM")]
    pub client_ca: Option<PathBuf>,
    /// Open connections at most; when full, the oldest one that has sent nothing yet is closed
    /// for a new one. Lowered to fit the open-file limit.
    #[arg(long, value_name = "N", default_value_t = 512,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub max_connections: u64,
    /// Open connections from one address at most; more are closed at once.
    #[arg(long, value_name = "N", default_value_t = 32,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub max_connections_per_address: u64,
    /// Seconds a new connection may take to send its first byte.
    #[arg(long, value_name = "SECS", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub first_byte_timeout: u64,
    /// Seconds a connection may stay silent (between requests, say) before it is closed.
    #[arg(long, value_name = "SECS", default_value_t = 60,
          value_parser = clap::value_parser!(u64).range(1..=86400))]
    pub idle_timeout: u64,
}

#[derive(Debug, Clone, Subcommand)]
pub enum HubAction {
    /// Bearer tokens, one or more per facility.
    #[command(subcommand)]
    Token(HubTokenAction),
    /// What a reader token was shown, person by person, with when (ids only)
    ///
    /// Each person listed to it by `/v1/incoming` or acknowledged by it, never the person's
    /// data.
    Audit {
        #[command(flatten)]
        database: HubDbArgs,
        /// The reader token's id, as `hub token list` shows it.
        #[arg(long, value_name = "TOKEN_ID")]
        reader: i64,
        /// First day (UTC), inclusive; 30 days ago when absent.
        #[arg(long, value_name = "YYYY-MM-DD")]
        from: Option<chrono::NaiveDate>,
        /// Last day (UTC), inclusive; today when absent.
        #[arg(long, value_name = "YYYY-MM-DD")]
        to: Option<chrono::NaiveDate>,
    },
    /// Create the hub's schema or bring it up to date, then say which version it has (the hub
    /// also does this when it starts; a database of a newer version is refused).
    Migrate {
        #[command(flatten)]
        database: HubDbArgs,
    },
    /// Check the database: it answers, its schema version, and how many tokens, people and
    /// events it holds. Exits non-zero when something is wrong.
    Check {
        #[command(flatten)]
        database: HubDbArgs,
    },
}

/// Which hub database a command works on.
#[derive(Debug, Clone, Default, Args)]
pub struct HubDbArgs {
    /// The hub's database: a SQLite file or a `postgres://` URL (default: `database` in [hub]).
    #[arg(long, value_name = "PATH|URL", env = "REENTRY_HUB_DB")]
    pub db: Option<PathBuf>,
    /// File holding the PostgreSQL password (else PGPASSWORD, else PGPASSFILE or ~/.pgpass).
    #[arg(long, value_name = "PATH", env = "REENTRY_HUB_DB_PASSWORD_FILE")]
    pub db_password_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Subcommand)]
pub enum HubTokenAction {
    /// Make a token for a facility or a reader and print it once (the hub keeps only its hash)
    ///
    /// A facility's token sends; a receiving organisation's reads `/v1/incoming` for one
    /// managed care plan, ECM provider or county. Exactly one of --facility, --plan, --ecm,
    /// --county.
    #[command(
        group(clap::ArgGroup::new("owner").required(true).args(["facility", "plan", "ecm", "county"])),
        override_usage = "reentry-board hub token add [OPTIONS] <--facility ID|--plan NAME|--ecm CONTACT|--county NAME>"
    )]
    Add {
        #[command(flatten)]
        database: HubDbArgs,
        /// The facility id the token may send for (the events' `source.facility_id`).
        #[arg(long)]
        facility: Option<String>,
        /// With --facility: the county the facility is in, so that county readers see its
        /// people (recorded for the facility, replacing an earlier one).
        #[arg(long, value_name = "COUNTY", requires = "facility")]
        in_county: Option<String>,
        /// A reader for a Medi-Cal managed care plan: people whose plan (the `mcp` of their
        /// Medi-Cal status) is NAME, ASCII case and outer spaces aside.
        #[arg(long, value_name = "NAME")]
        plan: Option<String>,
        /// A reader for an ECM provider: people whose `ecm_provider` care-team organisation is
        /// CONTACT.
        #[arg(long, value_name = "CONTACT")]
        ecm: Option<String>,
        /// A reader for a county: people held in the facilities recorded in that county.
        #[arg(long, value_name = "NAME")]
        county: Option<String>,
        /// A note for people: which machine or service holds it.
        #[arg(long, default_value = "")]
        label: String,
    },
    /// List tokens: id, facility, label, created, revoked. Never the token itself.
    List {
        #[command(flatten)]
        database: HubDbArgs,
    },
    /// Revoke a token by id; requests with it get 401 from then on.
    Revoke {
        #[command(flatten)]
        database: HubDbArgs,
        /// The id `token list` shows.
        id: i64,
    },
}

#[derive(Debug, Clone, Args)]
pub struct SyncArgs {
    /// The database file (default: the config file's `database`).
    #[arg(long, value_name = "PATH", env = "REENTRY_BOARD_DB", global = true)]
    pub db: Option<PathBuf>,
    #[command(subcommand)]
    pub action: Option<SyncAction>,
    #[command(flatten)]
    pub run: SyncRunArgs,
}

#[derive(Debug, Clone, Args)]
pub struct SyncRunArgs {
    /// Send what is due now and exit with a status (0 all delivered, 2 still waiting, 3 needs a
    /// coordinator) instead of running on.
    #[arg(long)]
    pub once: bool,
    #[command(flatten)]
    pub conn: SyncConnArgs,
}

#[derive(Debug, Clone, Subcommand)]
pub enum SyncAction {
    /// The queue in words, counts, and every dead or blocked event with its reason.
    Status,
    /// Send a dead or blocked event again (and the same person's blocked events after it).
    /// Coordinators only; audited.
    Retry {
        /// The event id `sync status` shows.
        event_id: String,
    },
    /// Give up on a dead or blocked event for good. Coordinators only; audited with the reason.
    Discard {
        event_id: String,
        /// Why (kept in the audit trail), e.g. "sent to the county by phone on 3/2".
        #[arg(long)]
        reason: String,
    },
    /// Lift a pause (after a 401/403 or TLS failure was fixed) so the sender tries now. Audited.
    Resume,
}

/// Dates are strict ISO `YYYY-MM-DD`; impossible days such as Feb 30 are refused.
pub fn parse_date(s: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|e| format!("`{s}` is not a date in the form YYYY-MM-DD ({e})"))
}

fn parse_people(s: &str) -> Result<usize, String> {
    let max = crate::demo::MAX_SYNTHETIC_PEOPLE;
    s.parse::<usize>()
        .ok()
        .filter(|n| (1..=max).contains(n))
        .ok_or_else(|| format!("`{s}` is not a number of people from 1 to {max}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn view_flags() {
        let cli = Cli::try_parse_from([
            "reentry-board",
            "--theme",
            "mono",
            "--color",
            "256",
            "--kiosk",
            "--mouse",
            "--ascii",
        ]);
        let view = cli.map(|c| c.board.view);
        assert!(
            matches!(&view, Ok(v) if v.theme == "mono" && v.color == ColorChoice::Ansi256
                && v.kiosk && v.mouse && v.ascii),
            "{view:?}"
        );
        assert!(Cli::try_parse_from(["reentry-board", "--color", "rainbow"]).is_err());
    }

    #[test]
    fn dates_are_strict() {
        assert!(parse_date("2026-02-28").is_ok());
        assert!(parse_date("2026-02-30").is_err());
        assert!(parse_date("03/01/2026").is_err());
    }

    #[test]
    fn value_lists_take_codes_and_dashes() {
        let role = |r: &str| {
            Cli::try_parse_from(["reentry-board", "users", "add", "jo", "--role", r]).map(|c| {
                match c.command {
                    Some(Command::Users(UsersArgs {
                        action: UsersAction::Add { role, .. },
                        ..
                    })) => Some(role),
                    _ => None,
                }
            })
        };
        assert_eq!(role("care-manager").ok().flatten(), Some(Role::CareManager));
        assert_eq!(role("care_manager").ok().flatten(), Some(Role::CareManager));
        assert!(role("janitor").is_err());
        let band = |b: &str| {
            Cli::try_parse_from(["reentry-board", "export", "--format", "csv", "--band", b]).map(
                |c| match c.command {
                    Some(Command::Export(e)) => e.filter.band,
                    _ => None,
                },
            )
        };
        assert_eq!(
            band("services-window").ok().flatten(),
            Some(Band::ServicesWindow)
        );
        assert!(band("soon").is_err());
    }

    #[test]
    fn boolish_and_ranged_settings() {
        let conn = |args: &[&str]| {
            Cli::try_parse_from(["reentry-board", "sync"].iter().chain(args)).map(|c| {
                match c.command {
                    Some(Command::Sync(s)) => s.run.conn,
                    _ => SyncConnArgs::default(),
                }
            })
        };
        assert_eq!(
            conn(&["--ca-only"]).ok().and_then(|c| c.ca_only),
            Some(true)
        );
        assert_eq!(
            conn(&["--ca-only=no"]).ok().and_then(|c| c.ca_only),
            Some(false)
        );
        assert_eq!(conn(&[]).ok().and_then(|c| c.ca_only), None);
        assert!(conn(&["--batch-size", "0"]).is_err());
        assert!(conn(&["--batch-size", "101"]).is_err());
        assert!(conn(&["--connect-timeout", "0"]).is_err());
    }
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on (default 0.0.0.0:2222); port 0 picks a free port (the printed line
    /// says which).
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
    #[command(flatten)]
    pub db: DbArg,
    /// The server's private key (OpenSSH format); made on first start, mode 0600.
    #[arg(long, value_name = "PATH")]
    pub host_key: Option<PathBuf>,
    /// Who may connect: OpenSSH authorized_keys lines, each with `login="NAME"` or the login as
    /// the comment. Re-read when it changes.
    #[arg(long, value_name = "PATH")]
    pub authorized_keys: Option<PathBuf>,
    /// Sessions at once (default 50); more are refused with a message.
    #[arg(long, value_name = "N")]
    pub max_sessions: Option<usize>,
    /// Failed authentications one address may make in 15 minutes before it is refused outright
    /// (default 10).
    #[arg(long, value_name = "N")]
    pub max_auth_failures: Option<u32>,
    /// Connections signing in at once, as OpenSSH's MaxStartups: `start:rate:full` drops new
    /// ones with probability rate% from `start` on, rising to 100% at `full`; `N` is a hard cap.
    #[arg(long, value_name = "START:RATE:FULL", default_value = "10:30:100")]
    pub max_startups: crate::ssh::startups::MaxStartups,
    /// Connections signing in at once from one address (OpenSSH's PerSourceMaxStartups).
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub per_source_max_startups: usize,
    /// Seconds a connection has to sign in before it is closed (OpenSSH's LoginGraceTime).
    #[arg(long, value_name = "SECS", default_value_t = 60,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub login_grace_time: u64,
    /// Colour theme for every session (the depth comes from each client's TERM).
    #[arg(
        long,
        value_name = "NAME",
        default_value = "default",
        env = "REENTRY_BOARD_THEME"
    )]
    pub theme: String,
    #[command(flatten)]
    pub sync: SyncConnArgs,
}
