//! What a county's IT does with the real binary: back up under load and restore, check a damaged
//! file, run every command from one config, set `REENTRY_*` variables, read help, man pages and
//! completions, require client certificates at the hub and reload them, import a Windows-1252
//! roster, export for Excel — and the packaging files the docs quote.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command as StdCommand, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use reentry_board::clock::SystemClock;
use reentry_board::domain::Role;
use reentry_board::store::{Actor, AddNote, Store};
use reentry_board::sync::{Sender, Step, SyncConfig, SyncOverrides, SyncSettings};

const BIN: &str = env!("CARGO_BIN_EXE_reentry-board");

/// The binary with everything it could read from outside pointed into `home`.
fn cmd(home: &Path) -> Command {
    let mut c = StdCommand::new(BIN);
    env(&mut c, home);
    Command::from_std(c)
}

fn hangup(child: &Child) {
    let status = StdCommand::new("kill")
        .args(["-HUP", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

fn env(c: &mut StdCommand, home: &Path) {
    c.env("HOME", home)
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_STATE_HOME", home.join("state"))
        .env_remove("RUST_LOG")
        .env_remove("INVOCATION_ID")
        .env_remove("JOURNAL_STREAM");
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("REENTRY_") {
            c.env_remove(name);
        }
    }
}

fn run(home: &Path, args: &[&str]) -> (i32, String, String) {
    let out = cmd(home).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn ok(home: &Path, args: &[&str]) -> String {
    let (code, out, err) = run(home, args);
    assert_eq!(code, 0, "{args:?}\n{out}{err}");
    out
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A generated demo database; the seed comes from the name, so two databases never share people
/// (a hub would see their events as one person's conflicting history).
fn demo_db(home: &Path, name: &str, people: usize) -> PathBuf {
    let db = home.join(name);
    let seed: u64 = name.bytes().fold(7, |h, b| h * 31 + u64::from(b));
    ok(
        home,
        &[
            "init",
            "--db",
            s(&db),
            "--demo",
            "--people",
            &people.to_string(),
            "--seed",
            &seed.to_string(),
        ],
    );
    db
}

fn notes(db: &Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut st = conn
        .prepare("SELECT text FROM notes WHERE text LIKE 'drill note %'")
        .unwrap();
    st.query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

fn person_ids(db: &Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut st = conn.prepare("SELECT id FROM persons ORDER BY id").unwrap();
    st.query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// The restore drill: a backup taken while four writers make 1,000 edits restores to a database
/// that passes `check` and holds every edit committed before the backup began.
#[test]
fn a_backup_under_load_restores_with_every_edit_committed_before_it() {
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    let db = demo_db(home, "board.db", 40);
    let people = person_ids(&db);
    let committed: Arc<Mutex<Vec<String>>> = Arc::default();
    // The writers go on until the backup has finished (250 edits each at least), so the backup
    // is always taken under load, however slow the machine.
    let backup_done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let (db, people, committed) = (db.clone(), people.clone(), committed.clone());
            let backup_done = backup_done.clone();
            std::thread::spawn(move || {
                let mut store = Store::open(&db, Arc::new(SystemClock)).unwrap();
                store.set_busy_timeout(Duration::from_secs(30)).unwrap();
                let actor = Actor::new("drill", Role::Coordinator);
                let mut i = 0;
                while i < 250 || !backup_done.load(std::sync::atomic::Ordering::SeqCst) {
                    let text = format!("drill note {w}-{i}");
                    let person_id = people[(w * 250 + i) % people.len()].clone();
                    store
                        .apply(
                            &actor,
                            AddNote {
                                person_id,
                                text: text.clone(),
                            },
                        )
                        .unwrap();
                    committed.lock().unwrap().push(text);
                    i += 1;
                }
            })
        })
        .collect();
    while committed.lock().unwrap().len() < 300 {
        std::thread::sleep(Duration::from_millis(5));
    }
    let before: Vec<String> = committed.lock().unwrap().clone();
    let backup = home.join("board-backup.db");
    let out = ok(home, &["backup", "--db", s(&db), "--to", s(&backup)]);
    backup_done.store(true, std::sync::atomic::Ordering::SeqCst);
    for w in writers {
        w.join().unwrap();
    }
    let total = committed.lock().unwrap().len();
    assert!(total >= 1000, "{total} edits");
    assert!(out.starts_with("backup "), "{out}");
    // The manifest and the checksum in `sha256sum -c` form.
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(home.join("board-backup.db.json")).unwrap()).unwrap();
    assert_eq!(
        manifest["schema_version"],
        reentry_board::store::SCHEMA_VERSION
    );
    let sum = std::fs::read_to_string(home.join("board-backup.db.sha256")).unwrap();
    assert_eq!(
        sum,
        format!(
            "{}  board-backup.db\n",
            manifest["sha256"].as_str().unwrap()
        )
    );
    assert!(!Path::new(&format!("{}-wal", backup.display())).exists());

    // Restore over the live database (every edit) and check.
    assert_eq!(notes(&db).len(), total);
    let out = ok(home, &["restore", "--db", s(&db), "--from", s(&backup)]);
    assert!(out.contains("kept the replaced database as"), "{out}");
    assert!(
        out.contains("integrity ok, foreign keys ok, audit chain ok"),
        "{out}"
    );
    let (code, out, _) = run(home, &["check", "--db", s(&db)]);
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("OK: "), "{out}");
    let restored = notes(&db);
    for text in &before {
        assert!(
            restored.contains(text),
            "{text} was committed before the backup"
        );
    }
    assert!(restored.len() >= before.len() && restored.len() < total);
    // The replaced database is kept whole, with every edit.
    let aside: Vec<PathBuf> = std::fs::read_dir(home)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().contains("board.db.replaced-"))
        .collect();
    assert_eq!(aside.len(), 1, "{aside:?}");
    assert_eq!(notes(&aside[0]).len(), total);
}

/// Overwrites the head of three pages (at a quarter, half and three quarters of the file), as a
/// failing disk or a bad copy would.
fn damage(file: &Path) {
    use std::io::{Seek as _, SeekFrom, Write as _};
    let pages = std::fs::metadata(file).unwrap().len() / 4096;
    let mut f = std::fs::OpenOptions::new().write(true).open(file).unwrap();
    for page in [pages / 4, pages / 2, pages * 3 / 4] {
        f.seek(SeekFrom::Start(page * 4096)).unwrap();
        f.write_all(&[0xA5; 64]).unwrap();
    }
}

#[test]
fn restore_refuses_a_damaged_altered_or_newer_backup_and_changes_nothing() {
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    let db = demo_db(home, "board.db", 200);
    let backup = home.join("b.db");
    ok(home, &["backup", "--db", s(&db), "--to", s(&backup)]);
    let live = std::fs::read(&db).unwrap();
    let refused = |from: &Path, says: &str| {
        let (code, out, err) = run(home, &["restore", "--db", s(&db), "--from", s(from)]);
        assert_eq!(code, 1, "{out}{err}");
        assert!(err.contains(says), "{err}");
        assert_eq!(
            std::fs::read(&db).unwrap(),
            live,
            "the live database changed"
        );
    };
    // Altered after the backup: the manifest's checksum no longer matches.
    let altered = home.join("altered.db");
    std::fs::copy(&backup, &altered).unwrap();
    std::fs::copy(home.join("b.db.json"), home.join("altered.db.json")).unwrap();
    damage(&altered);
    refused(&altered, "checksum does not match");
    // Damaged, without a manifest to catch it: the integrity check does.
    std::fs::remove_file(home.join("altered.db.json")).unwrap();
    refused(&altered, "damaged");
    // From a newer reentry-board.
    let newer = home.join("newer.db");
    std::fs::copy(&backup, &newer).unwrap();
    rusqlite::Connection::open(&newer)
        .unwrap()
        .execute_batch("PRAGMA user_version = 99")
        .unwrap();
    refused(&newer, "newer reentry-board");
    // Not ours.
    let other = home.join("other.db");
    rusqlite::Connection::open(&other)
        .unwrap()
        .execute_batch("CREATE TABLE t (x)")
        .unwrap();
    refused(&other, "not a reentry-board database");
    // Nothing was set aside by a refusal.
    assert!(!std::fs::read_dir(home).unwrap().any(|e| {
        e.unwrap()
            .file_name()
            .to_string_lossy()
            .contains("replaced")
    }));
    // While a sender holds the lock, restore refuses.
    let _lock = reentry_board::sync::SenderLock::try_acquire(&db)
        .unwrap()
        .unwrap();
    refused(&backup, "a sender is running");
}

#[test]
fn check_gives_monitoring_one_line_and_a_status() {
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    let db = demo_db(home, "board.db", 300);
    let (code, out, _) = run(home, &["check", "--db", s(&db)]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(
        out.contains("integrity ok, foreign keys ok, audit chain ok"),
        "{out}"
    );

    // A flipped page: CRITICAL, 2.
    let damaged = home.join("damaged.db");
    std::fs::copy(&db, &damaged).unwrap();
    damage(&damaged);
    let (code, out, _) = run(home, &["check", "--db", s(&damaged)]);
    assert_eq!((code, out.lines().count()), (2, 1), "{out}");
    assert!(
        out.starts_with("CRITICAL: ") && out.contains("integrity"),
        "{out}"
    );

    // An audit row edited by hand, past the triggers: the chain shows where.
    let tampered = home.join("tampered.db");
    std::fs::copy(&db, &tampered).unwrap();
    let conn = rusqlite::Connection::open(&tampered).unwrap();
    conn.execute_batch(
        "DROP TRIGGER audit_no_update;
         UPDATE audit SET actor = 'someone-else' WHERE id = 7;
         CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
         BEGIN SELECT RAISE(ABORT, 'audit rows are append-only'); END;",
    )
    .unwrap();
    drop(conn);
    let (code, out, _) = run(home, &["check", "--db", s(&tampered)]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("audit chain breaks at row 7"), "{out}");

    // Nothing to check: UNKNOWN, 3.
    let (code, out, _) = run(home, &["check", "--db", s(&home.join("missing.db"))]);
    assert_eq!(code, 3, "{out}");
    assert!(out.starts_with("UNKNOWN: "), "{out}");
}

#[test]
fn every_command_uses_the_database_named_in_the_config() {
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    let etc = home.join("etc");
    std::fs::create_dir_all(&etc).unwrap();
    let config = etc.join("config.toml");
    // Relative paths are relative to the config file, not to where the command runs.
    std::fs::write(
        &config,
        "database = \"board.db\"\n[hub]\ndatabase = \"hub.db\"\n",
    )
    .unwrap();
    let c = s(&config);
    let login = reentry_board::identity::current_login();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let facilities = fixtures.join("facilities.csv");
    let roster = fixtures.join("import/roster.csv");
    for args in [
        vec!["init"],
        vec!["users", "add", &login, "--role", "coordinator"],
        vec!["users", "list"],
        vec!["import", "--kind", "facilities", s(&facilities)],
        vec!["import", s(&roster), "--as-of", "2026-03-02"],
        vec!["export", "--format", "csv", "--as-of", "2026-03-02"],
        vec!["report", "--from", "2026-01-01", "--to", "2026-03-31"],
        vec!["roster", "left"],
        vec!["sync", "status"],
        vec!["backup", "--to", s(&home.join("b.db"))],
        vec!["check"],
        vec!["hub", "token", "add", "--facility", "x"],
        vec!["hub", "token", "list"],
    ] {
        let mut full = vec!["--config", c];
        full.extend(args.iter().copied());
        let out = cmd(home).current_dir(home).args(&full).output().unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert!(etc.join("board.db").exists() && etc.join("hub.db").exists());
    assert!(!home.join("board.db").exists());
    // --db still wins.
    let (code, _, err) = run(home, &["--config", c, "check", "--db", "/nonexistent/x.db"]);
    assert_eq!(code, 3, "{err}");
    // Without either, the message says both ways.
    let (code, _, err) = run(home, &["users", "list"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("--db PATH") && err.contains("`database`"),
        "{err}"
    );
}

#[test]
fn reentry_variables_mean_the_same_to_every_command() {
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    let db = demo_db(home, "board.db", 3);
    for value in ["1", "true", "yes", "0", "false", "no", "YES"] {
        let out = cmd(home)
            .env("REENTRY_SYNC_CA_ONLY", value)
            .args(["sync", "status", "--db", s(&db)])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{value}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // A bad value is refused alike by the board, the SSH server and the sender, at start, naming
    // the variable.
    for (name, value) in [
        ("REENTRY_SYNC_CA_ONLY", "maybe"),
        ("REENTRY_SYNC_BATCH_SIZE", "0"),
        ("REENTRY_SYNC_BATCH_SIZE", "lots"),
        ("REENTRY_SYNC_CONNECT_TIMEOUT", "0"),
    ] {
        for args in [
            vec!["--db", s(&db)],
            vec!["sync", "--once", "--db", s(&db)],
            vec!["sync", "status", "--db", s(&db)],
            vec!["serve", "--db", s(&db)],
        ] {
            let out = cmd(home).env(name, value).args(&args).output().unwrap();
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(
                out.status.code(),
                Some(64),
                "{name}={value} {args:?}: {err}"
            );
            assert!(err.contains(name), "{name}={value} {args:?}: {err}");
        }
    }
}

/// Every command's long help, as `COMMAND --help` shows it at 100 columns.
#[test]
fn help_of_every_command() {
    fn walk(command: &clap::Command, path: String, out: &mut Vec<(String, String)>) {
        let mut c = command.clone();
        out.push((path.clone(), c.render_long_help().to_string()));
        for sub in command.get_subcommands().filter(|s| s.get_name() != "help") {
            walk(sub, format!("{path}-{}", sub.get_name()), out);
        }
    }
    let mut root = reentry_board::cli::command().term_width(100);
    root.build();
    let mut pages = Vec::new();
    walk(&root, "reentry-board".into(), &mut pages);
    assert!(pages.len() > 25, "{}", pages.len());
    for (name, text) in &pages {
        assert!(text.contains("Exit status"), "{name} says no exit status");
        for line in text.lines() {
            assert!(line.chars().count() <= 100, "{name}: {line}");
        }
        insta::assert_snapshot!(format!("help_{name}"), text);
    }
    let sync = &pages
        .iter()
        .find(|(n, _)| n == "reentry-board-sync")
        .unwrap()
        .1;
    assert!(sync.contains("3 (--once) dead-lettered"), "{sync}");
    assert!(!sync.contains("see above"), "{sync}");
}

#[test]
fn completions_and_man_pages_come_from_the_same_definitions() {
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    let bash = ok(home, &["completions", "bash"]);
    for word in [
        "backup",
        "restore",
        "services_window",
        "care_manager",
        "--excel",
    ] {
        assert!(bash.contains(word), "bash completion lacks {word}");
    }
    assert!(ok(home, &["completions", "zsh"]).contains("#compdef reentry-board"));
    let man = ok(home, &["man"]);
    assert!(man.contains(".TH reentry-board 1"), "{}", &man[..200]);
    let dir = home.join("man");
    ok(home, &["man", "--dir", s(&dir)]);
    let sync = std::fs::read_to_string(dir.join("reentry-board-sync.1")).unwrap();
    assert!(sync.contains("Exit status"), "{sync}");
    assert!(dir.join("reentry-board-hub-token-add.1").exists());
}

/// A CA and a certificate it signs, as PEM files in `dir`: (cert, key, ca).
fn issue(dir: &Path, name: &str, client: bool) -> (PathBuf, PathBuf, PathBuf) {
    std::fs::create_dir_all(dir).unwrap();
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, format!("{name} CA"));
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    if client {
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
    }
    let cert = params.signed_by(&key, &issuer).unwrap();
    let paths = (
        dir.join(format!("{name}.pem")),
        dir.join(format!("{name}.key")),
        dir.join(format!("{name}-ca.pem")),
    );
    std::fs::write(&paths.0, cert.pem()).unwrap();
    std::fs::write(&paths.1, key.serialize_pem()).unwrap();
    std::fs::write(&paths.2, ca_cert.pem()).unwrap();
    paths
}

struct Hub {
    child: Child,
    url: String,
}

impl Drop for Hub {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_hub(home: &Path, config: &Path) -> Hub {
    let mut c = StdCommand::new(BIN);
    env(&mut c, home);
    let mut child = c
        .args(["--config", s(config), "hub"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    stdout.read_line(&mut line).unwrap();
    // The hub prints more lines after its address; a closed pipe would end it.
    std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
    let addr = line
        .trim()
        .strip_prefix("hub listening on https://")
        .unwrap_or_else(|| panic!("{line}"));
    let port = addr.rsplit(':').next().unwrap();
    Hub {
        child,
        url: format!("https://localhost:{port}"),
    }
}

/// One step of a sender on a fresh demo database, trusting `ca`, presenting `client` if given.
fn send_once(
    home: &Path,
    name: &str,
    url: &str,
    token: &Path,
    ca: &Path,
    client: Option<(&Path, &Path)>,
) -> (Step, Option<String>) {
    let db = demo_db(home, name, 2);
    let file = SyncConfig {
        url: Some(url.into()),
        token_file: Some(token.into()),
        ca_file: Some(ca.into()),
        ca_only: true,
        client_cert: client.map(|c| c.0.to_path_buf()),
        client_key: client.map(|c| c.1.to_path_buf()),
        ..SyncConfig::default()
    };
    let settings = SyncSettings::resolve(&file, &SyncOverrides::default()).unwrap();
    let mut sender = Sender::new(&db, settings).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let step = rt.block_on(sender.step()).unwrap();
    let reason = sender.store().sync_state().unwrap().paused_reason;
    (step, reason)
}

#[test]
fn the_hub_requires_client_certificates_and_reloads_its_own_on_sighup() {
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    let pki = home.join("pki");
    let (cert, key, server_ca) = issue(&pki, "hub", false);
    let (client_cert, client_key, client_ca) = issue(&pki, "sender", true);
    let (new_cert, new_key, new_ca) = issue(&pki, "renewed", false);
    let config = home.join("hub.toml");
    std::fs::write(
        &config,
        format!(
            "[hub]\ndatabase = \"hub.db\"\nlisten = \"127.0.0.1:0\"\ntls_cert = \"{}\"\n\
             tls_key = \"{}\"\nclient_ca = \"{}\"\n",
            s(&home.join("live.pem")),
            s(&home.join("live.key")),
            s(&client_ca)
        ),
    )
    .unwrap();
    std::fs::copy(&cert, home.join("live.pem")).unwrap();
    std::fs::copy(&key, home.join("live.key")).unwrap();
    let token_out = ok(
        home,
        &[
            "--config",
            s(&config),
            "hub",
            "token",
            "add",
            "--facility",
            "demo-facility",
        ],
    );
    let token = home.join("token");
    std::fs::write(&token, token_out).unwrap();
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o600)).unwrap();
    let hub = start_hub(home, &config);

    // No client certificate: refused in the handshake, paused with a reason in words.
    let (step, reason) = send_once(home, "a.db", &hub.url, &token, &server_ca, None);
    assert_eq!(step, Step::Paused);
    let reason = reason.unwrap();
    assert!(reason.contains("client certificate"), "{reason}");
    assert!(
        !reason.contains("Alert") && !reason.contains('\n'),
        "{reason}"
    );
    // A client certificate from the client CA: delivered.
    let client = Some((client_cert.as_path(), client_key.as_path()));
    let (step, _) = send_once(home, "b.db", &hub.url, &token, &server_ca, client);
    assert!(matches!(step, Step::Sent(n) if n > 0), "{step:?}");

    // A renewed certificate from another CA: not served until SIGHUP.
    std::fs::copy(&new_cert, home.join("live.pem")).unwrap();
    std::fs::copy(&new_key, home.join("live.key")).unwrap();
    let (step, reason) = send_once(home, "c.db", &hub.url, &token, &new_ca, client);
    assert_eq!(step, Step::Paused);
    assert!(reason.unwrap().contains("unknown CA"));
    hangup(&hub.child);
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut attempt = 0;
    loop {
        attempt += 1;
        let (step, reason) = send_once(
            home,
            &format!("d{attempt}.db"),
            &hub.url,
            &token,
            &new_ca,
            client,
        );
        // Any answer means the handshake went through (later databases may share demo people
        // with earlier ones, which the hub answers per event).
        if matches!(step, Step::Sent(_)) {
            break;
        }
        assert!(Instant::now() < deadline, "{step:?} {reason:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
    // A bad file on reload keeps the good certificate.
    std::fs::write(home.join("live.pem"), "not a certificate").unwrap();
    hangup(&hub.child);
    std::thread::sleep(Duration::from_millis(300));
    let (step, reason) = send_once(home, "e.db", &hub.url, &token, &new_ca, client);
    assert!(matches!(step, Step::Sent(_)), "{step:?} {reason:?}");
    drop(hub);
    // The hub's log says why the first sender was refused, in one line.
    let logs = home.join("state/reentry-board");
    let text: String = std::fs::read_dir(&logs)
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    assert!(text.contains("the client sent no certificate"), "{text}");
    assert!(text.contains("TLS files not reloaded"), "{text}");
}

#[test]
fn a_windows_1252_roster_imports_with_its_accents() {
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    let db = home.join("board.db");
    ok(home, &["init", "--db", s(&db)]);
    let login = reentry_board::identity::current_login();
    ok(
        home,
        &[
            "users",
            "add",
            &login,
            "--role",
            "coordinator",
            "--db",
            s(&db),
        ],
    );
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    ok(
        home,
        &[
            "import",
            "--kind",
            "facilities",
            s(&fixtures.join("facilities.csv")),
            "--db",
            s(&db),
        ],
    );
    // What a jail system's nightly job writes on Windows: "ANSI", CRLF.
    let text = std::fs::read_to_string(fixtures.join("import/roster.csv"))
        .unwrap()
        .replace('\n', "\r\n");
    assert!(text.contains("Hernández"));
    let (bytes, _, unmappable) = encoding_rs::WINDOWS_1252.encode(&text);
    assert!(!unmappable);
    let roster = home.join("roster-1252.csv");
    std::fs::write(&roster, &bytes).unwrap();
    assert!(std::str::from_utf8(&bytes).is_err());

    // Read as UTF-8, it is refused with the place of the first bad byte.
    let (code, _, err) = run(
        home,
        &[
            "import",
            s(&roster),
            "--db",
            s(&db),
            "--as-of",
            "2026-03-02",
        ],
    );
    assert_eq!(code, 1);
    assert!(err.contains("not UTF-8"), "{err}");
    // With the mapping's encoding, it imports, accents intact.
    let map = home.join("map.toml");
    std::fs::write(&map, "encoding = \"windows-1252\"\n").unwrap();
    ok(
        home,
        &[
            "import",
            s(&roster),
            "--map",
            s(&map),
            "--db",
            s(&db),
            "--as-of",
            "2026-03-02",
        ],
    );
    let csv = ok(
        home,
        &[
            "export",
            "--format",
            "csv",
            "--db",
            s(&db),
            "--as-of",
            "2026-03-02",
        ],
    );
    assert!(
        csv.contains("HERNÁNDEZ") || csv.contains("Hernández"),
        "{csv}"
    );
    // An unknown encoding is named with its line.
    std::fs::write(&map, "\nencoding = \"klingon\"\n").unwrap();
    let (code, _, err) = run(
        home,
        &["import", s(&roster), "--map", s(&map), "--db", s(&db)],
    );
    assert_eq!(code, 1);
    assert!(err.contains(":2") && err.contains("klingon"), "{err}");
}

#[test]
fn export_for_excel_has_a_byte_order_mark_and_crlf() {
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    let db = demo_db(home, "board.db", 20);
    let out = cmd(home)
        .args(["export", "--format", "csv", "--excel", "--db", s(&db)])
        .output()
        .unwrap();
    assert!(out.status.success());
    let bytes = out.stdout;
    assert!(bytes.starts_with(b"\xEF\xBB\xBFbooking_id,"));
    let text = std::str::from_utf8(&bytes).unwrap();
    assert_eq!(text.matches("\r\n").count(), text.matches('\n').count());
    assert_eq!(text.matches("\r\n").count(), 21);
    let plain = ok(home, &["export", "--format", "csv", "--db", s(&db)]);
    assert!(!plain.contains('\r') && plain.starts_with("booking_id,"));
    let (code, _, err) = run(
        home,
        &["export", "--format", "json", "--excel", "--db", s(&db)],
    );
    assert_eq!(code, 1);
    assert!(err.contains("--excel goes with --format csv"), "{err}");
}

/// docs/OPERATIONS.md quotes the packaging files word for word, and the example configs load.
#[test]
fn the_docs_quote_the_packaging_files_and_the_examples_load() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc = std::fs::read_to_string(root.join("docs/OPERATIONS.md")).unwrap();
    for file in [
        "reentry-board-serve.service",
        "reentry-board-sync.service",
        "reentry-board-hub.service",
        "reentry-board-backup.service",
        "reentry-board-backup.timer",
        "reentry-board.sysusers",
        "reentry-board.tmpfiles",
        "config.toml",
        "hub.toml",
    ] {
        let text = std::fs::read_to_string(root.join("packaging").join(file)).unwrap();
        assert!(
            doc.contains(&format!("\n{text}```\n")),
            "docs/OPERATIONS.md does not quote packaging/{file} as it is"
        );
    }
    let facility =
        reentry_board::config::Config::load(&root.join("packaging/config.toml")).unwrap();
    assert_eq!(
        facility.database.as_deref(),
        Some(Path::new("/var/lib/reentry-board/board.db"))
    );
    assert!(facility.serve.host_key.is_some() && facility.sync.url.is_some());
    let hub = reentry_board::config::Config::load(&root.join("packaging/hub.toml")).unwrap();
    assert_eq!(
        hub.hub.database.as_deref(),
        Some("/var/lib/reentry-board/hub.db")
    );
    // Every fence is closed: an even number of fence lines.
    let fences = doc
        .lines()
        .filter(|l| l.trim_start().starts_with("```"))
        .count();
    assert_eq!(
        fences % 2,
        0,
        "an unclosed code fence in docs/OPERATIONS.md"
    );
}

/// `systemd-analyze verify` on the units (with this build's binary in ExecStart), where systemd
/// is installed; CI also verifies them as the package installs them.
#[test]
fn the_units_pass_systemd_analyze_verify() {
    let Ok(found) = StdCommand::new("systemd-analyze").arg("--version").output() else {
        eprintln!("systemd-analyze is not installed; unit check skipped");
        return;
    };
    assert!(found.status.success());
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    let mut units = Vec::new();
    for entry in std::fs::read_dir(root.join("packaging")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.ends_with(".service") || name.ends_with(".timer") {
            let text = std::fs::read_to_string(&path)
                .unwrap()
                .replace("/usr/bin/reentry-board", BIN);
            std::fs::write(dir.path().join(&name), text).unwrap();
            units.push(dir.path().join(&name));
        }
    }
    assert_eq!(units.len(), 5);
    let out = StdCommand::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .args(&units)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
