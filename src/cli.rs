//! The command line (clap). Every subcommand has `--help`.

use std::path::PathBuf;

use chrono::NaiveDate;
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::domain::Role;
use crate::theme::ColorChoice;

#[derive(Debug, Parser)]
#[command(
    name = "reentry-board",
    version,
    about = "Release-planning board for the CalAIM Justice-Involved Reentry Initiative",
    long_about = "The shared board of the daily release-planning meeting: who is releasing soon, \
                  what is missing and what is overdue by the program's timeline.\n\n\
                  Without a subcommand, opens the board (same as `reentry-board board`)."
)]
pub struct Cli {
    /// Config file (TOML). Default: $XDG_CONFIG_HOME/reentry-board/config.toml if present.
    #[arg(long, global = true, value_name = "PATH", env = "REENTRY_BOARD_CONFIG")]
    pub config: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Option<Command>,

    #[command(flatten)]
    pub board: BoardArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Open the board on a database (the default command).
    Board(BoardArgs),
    /// Open the board on built-in demo data (creates or reuses a demo database in your data
    /// directory and makes you a coordinator there).
    Demo(DemoArgs),
    /// Create a database, empty or seeded, without opening the board.
    Init(InitArgs),
    /// Print the board as computed for a day, one record per person in custody, soonest first.
    Export(ExportArgs),
    /// Who may do what: list users, add one, change a role.
    Users(UsersArgs),
    /// Run the reference central API server (the hub), or manage its facility tokens.
    Hub(HubArgs),
    /// Send queued events to the central API (a long-running service, or `--once`), or look at
    /// and handle undeliverable ones.
    Sync(SyncArgs),
    /// Serve the board over SSH: each key in --authorized-keys gets its own board session.
    Serve(ServeArgs),
    /// Import a CSV file: the jail's roster (default), the care-manager directory, facilities or
    /// medication lists. Checked in full first; nothing is imported if any row is rejected.
    Import(ImportArgs),
    /// People who left the roster feed: list them, confirm a release or a transfer.
    Roster(RosterArgs),
    /// Program measures for people released in a period, each with its denominator.
    Report(ReportArgs),
    /// The minutes of the last meeting (of a day): attendees, people reviewed, decisions, tasks.
    Minutes(MinutesArgs),
}

#[derive(Debug, Clone, Args)]
pub struct DbArg {
    /// The database file.
    #[arg(long, value_name = "PATH", env = "REENTRY_BOARD_DB")]
    pub db: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct BoardArgs {
    #[command(flatten)]
    pub db: DbArg,
    #[command(flatten)]
    pub view: ViewArgs,
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
}

#[derive(Debug, Clone, Args)]
pub struct InitArgs {
    /// The database file to create (it must not exist yet).
    #[arg(long, value_name = "PATH", env = "REENTRY_BOARD_DB")]
    pub db: PathBuf,
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
    /// Only one band: overdue, near, services_window, screening_window, unknown, later.
    #[arg(long, value_name = "BAND")]
    pub band: Option<String>,
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
    /// The database file.
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
        /// For a transfer: county_jail, youth_facility, state_prison, hospital or other.
        #[arg(long, value_name = "KIND", default_value = "other")]
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
    /// The database file.
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
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// Display name.
        #[arg(long)]
        name: Option<String>,
    },
    /// Change a user's role.
    SetRole {
        login: String,
        #[arg(value_parser = parse_role)]
        role: Role,
    },
}

#[derive(Debug, Clone, Args)]
#[command(
    args_conflicts_with_subcommands = true,
    long_about = "Without a subcommand, serves the /v1 API of docs/API.md, e.g.\n\n  \
                  reentry-board hub --listen 0.0.0.0:8443 --db hub.db --tls-cert cert.pem \
                  --tls-key key.pem\n\n\
                  Prints `hub listening on URL` once it accepts connections; on ctrl-c or \
                  SIGTERM it stops accepting and lets requests in progress finish."
)]
pub struct HubArgs {
    #[command(subcommand)]
    pub action: Option<HubAction>,
    #[command(flatten)]
    pub serve: HubServeArgs,
}

#[derive(Debug, Clone, Args)]
pub struct HubServeArgs {
    /// Address to listen on; port 0 picks a free port (the printed line says which).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub listen: std::net::SocketAddr,
    /// The hub's database file (created if missing).
    #[arg(long, value_name = "PATH", env = "REENTRY_HUB_DB")]
    pub db: Option<PathBuf>,
    /// PEM certificate chain: serve HTTPS (with --tls-key).
    #[arg(long, value_name = "PEM", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert.
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
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
}

#[derive(Debug, Clone, Subcommand)]
pub enum HubTokenAction {
    /// Make a token for a facility and print it once (the hub keeps only its hash).
    Add {
        /// The hub's database file.
        #[arg(long, value_name = "PATH", env = "REENTRY_HUB_DB")]
        db: PathBuf,
        /// The facility id the token may send for (the events' `source.facility_id`).
        #[arg(long)]
        facility: String,
        /// A note for people: which machine or service holds it.
        #[arg(long, default_value = "")]
        label: String,
    },
    /// List tokens: id, facility, label, created, revoked. Never the token itself.
    List {
        #[arg(long, value_name = "PATH", env = "REENTRY_HUB_DB")]
        db: PathBuf,
    },
    /// Revoke a token by id; requests with it get 401 from then on.
    Revoke {
        #[arg(long, value_name = "PATH", env = "REENTRY_HUB_DB")]
        db: PathBuf,
        /// The id `token list` shows.
        id: i64,
    },
}

#[derive(Debug, Clone, Args)]
#[command(
    long_about = "Without a subcommand, sends the database's queued events to the hub until \
                  stopped (ctrl-c or SIGTERM), e.g.\n\n  \
                  reentry-board sync --db board.db --url https://hub.county.example \
                  --token-file /etc/reentry-board/token\n\n\
                  Each setting is also an environment variable and a key of the config file's \
                  [sync] section (flag > environment > file). With --once it sends what is \
                  due and exits: 0 when everything is delivered, 2 when events still wait for \
                  the hub, 3 when dead-lettered or blocked events need a coordinator \
                  (`sync status`)."
)]
pub struct SyncArgs {
    /// The database file.
    #[arg(long, value_name = "PATH", env = "REENTRY_BOARD_DB", global = true)]
    pub db: Option<PathBuf>,
    #[command(subcommand)]
    pub action: Option<SyncAction>,
    #[command(flatten)]
    pub run: SyncRunArgs,
}

#[derive(Debug, Clone, Args)]
pub struct SyncRunArgs {
    /// Send what is due now and exit with a status (see above) instead of running on.
    #[arg(long)]
    pub once: bool,
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
    /// Trust only --ca-file, not the system roots.
    #[arg(long, env = "REENTRY_SYNC_CA_ONLY")]
    pub ca_only: bool,
    /// PEM client certificate, for hubs that require mutual TLS (with --client-key).
    #[arg(long, value_name = "PEM", env = "REENTRY_SYNC_CLIENT_CERT")]
    pub client_cert: Option<PathBuf>,
    /// PEM private key of --client-cert.
    #[arg(long, value_name = "PEM", env = "REENTRY_SYNC_CLIENT_KEY")]
    pub client_key: Option<PathBuf>,
    /// Seconds to wait for a connection (default 5).
    #[arg(long, value_name = "SECS", env = "REENTRY_SYNC_CONNECT_TIMEOUT")]
    pub connect_timeout: Option<u64>,
    /// Seconds to wait for an answer (default 30).
    #[arg(long, value_name = "SECS", env = "REENTRY_SYNC_REQUEST_TIMEOUT")]
    pub request_timeout: Option<u64>,
    /// Events per request, 1 to 100 (default 100).
    #[arg(long, value_name = "N", env = "REENTRY_SYNC_BATCH_SIZE")]
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

fn parse_role(s: &str) -> Result<Role, String> {
    s.replace(['-', ' '], "_").parse::<Role>().map_err(|_| {
        let roles: Vec<&str> = Role::all().map(Role::code).collect();
        format!("`{s}` is not a role; one of: {}", roles.join(", "))
    })
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
        assert_eq!(parse_role("care-manager"), Ok(Role::CareManager));
        assert!(parse_role("janitor").is_err());
    }
}

#[derive(Debug, Clone, Args)]
#[command(
    long_about = "Serve the board over SSH with a built-in SSH server: staff run \
                  `ssh -p 2222 HOST` and land in the board, identified by their key, with no \
                  shell account. Prints the host key's fingerprint and `ssh server listening on \
                  ADDR`; on ctrl-c or SIGTERM every session gets a goodbye line.\n\n  \
                  reentry-board serve --listen 0.0.0.0:2222 --db board.db \
                  --host-key /var/lib/reentry-board/host_key \
                  --authorized-keys /etc/reentry-board/authorized_keys"
)]
pub struct ServeArgs {
    /// Address to listen on; port 0 picks a free port (the printed line says which).
    #[arg(long, value_name = "ADDR", default_value = "0.0.0.0:2222")]
    pub listen: String,
    #[command(flatten)]
    pub db: DbArg,
    /// The server's private key (OpenSSH format); made on first start, mode 0600.
    #[arg(long, value_name = "PATH")]
    pub host_key: PathBuf,
    /// Who may connect: OpenSSH authorized_keys lines, each with `login="NAME"` or the login as
    /// the comment. Re-read when it changes.
    #[arg(long, value_name = "PATH")]
    pub authorized_keys: PathBuf,
    /// Sessions at once; more are refused with a message.
    #[arg(long, value_name = "N", default_value_t = 50)]
    pub max_sessions: usize,
    /// Connections from one address that ended without signing in, within 15 minutes, before
    /// its unlisted keys are slowed (2 s each). Listed keys are never refused for it, and a
    /// sign-in from the address clears its count.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub max_auth_failures: u32,
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
}
