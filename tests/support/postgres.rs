//! A throwaway PostgreSQL cluster of the tests' own, from the machine's `initdb` and `postgres`
//! (on PATH or in /usr/lib/postgresql/*/bin): in a temporary directory, on a free loopback port,
//! with a password (SCRAM) that the hubs read from a file. Run as `nobody` when the tests run as
//! root (PostgreSQL refuses root). A watchdog shell stops the server and removes the directory
//! when the test process ends, however it ends, so nothing is left behind.
//!
//! Where PostgreSQL is missing, [`shared`] says so loudly and ends the test binary successfully
//! (the binaries that use it test nothing else); with `CI` or `REENTRY_REQUIRE_POSTGRES` set it
//! fails instead, so CI never skips these tests.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

pub const USER: &str = "reentry";

pub struct Cluster {
    dir: PathBuf,
    bin: PathBuf,
    pub port: u16,
    pub password_file: PathBuf,
    /// fsync and synchronous commit on, as in production (benchmarks); off for the tests.
    durable: bool,
    server: Mutex<Option<Child>>,
    /// Its closing (when this process ends) makes the watchdog stop the server and clean up.
    watchdog: Mutex<Option<(Child, ChildStdin)>>,
}

/// Whether a missing PostgreSQL must fail the tests rather than skip them.
pub fn required() -> bool {
    ["CI", "REENTRY_REQUIRE_POSTGRES"]
        .iter()
        .any(|name| std::env::var(name).is_ok_and(|v| !v.is_empty() && v != "0" && v != "false"))
}

/// The directory of `initdb` and `postgres`, if the machine has them.
pub fn bin_dir() -> Option<PathBuf> {
    // Through symlinks: a link on PATH leads to the directory holding psql and pg_isready too.
    let on_path = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .filter_map(|dir| std::fs::canonicalize(dir.join("initdb")).ok())
            .filter_map(|initdb| initdb.parent().map(Path::to_path_buf))
            .find(|dir| dir.join("postgres").is_file() && dir.join("pg_isready").is_file())
    });
    on_path.or_else(|| {
        let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
            .filter(|bin| bin.join("initdb").is_file())
            .collect();
        versions.sort_by_key(|p| {
            p.parent()
                .and_then(|v| v.file_name())
                .and_then(|v| v.to_str())
                .and_then(|v| v.parse::<u32>().ok())
                .unwrap_or(0)
        });
        versions.pop()
    })
}

/// The cluster this test process shares between its tests, started on first use.
pub fn shared() -> &'static Cluster {
    static SHARED: OnceLock<Cluster> = OnceLock::new();
    SHARED.get_or_init(|| match Cluster::start() {
        Ok(cluster) => cluster,
        Err(why) => {
            if required() {
                panic!("PostgreSQL is required here (CI or REENTRY_REQUIRE_POSTGRES) but: {why}");
            }
            let mut err = std::io::stderr().lock();
            let _ = writeln!(
                err,
                "\n{0}\nSKIPPED: the PostgreSQL tests of this binary: {why}.\nInstall PostgreSQL \
                 (Debian: apt-get install postgresql) to run them; CI installs it.\n{0}\n",
                "!".repeat(78)
            );
            let _ = err.flush();
            std::process::exit(0);
        }
    })
}

fn run(command: &mut Command, what: &str) -> Result<(), String> {
    let output = command
        .output()
        .map_err(|e| format!("cannot run {what}: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "{what} failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(())
}

fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// A command run as `nobody` when we are root, else as ourselves.
fn as_server_user(program: &Path) -> Command {
    if is_root() {
        let mut command = Command::new("setpriv");
        command
            .args(["--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"])
            .arg(program);
        command
    } else {
        Command::new(program)
    }
}

impl Cluster {
    /// A new cluster of its own (for the tests that restart it); [`shared`] for the others.
    pub fn start() -> Result<Self, String> {
        Self::start_with(false, None)
    }

    /// A cluster that syncs to disk like a production one, for the benchmarks.
    pub fn start_durable() -> Result<Self, String> {
        Self::start_with(true, None)
    }

    /// A cluster that takes TLS connections only, with this certificate chain and key (PEM).
    pub fn start_tls(cert_pem: &str, key_pem: &str) -> Result<Self, String> {
        Self::start_with(false, Some((cert_pem, key_pem)))
    }

    fn start_with(durable: bool, tls: Option<(&str, &str)>) -> Result<Self, String> {
        let bin = bin_dir().ok_or("no initdb/postgres on PATH or in /usr/lib/postgresql")?;
        let dir = tempfile::Builder::new()
            .prefix("reentry-pg-")
            .tempdir()
            .map_err(|e| e.to_string())?
            .keep();
        let cleanup_on_error = |e: String| {
            let _ = std::fs::remove_dir_all(&dir);
            e
        };
        Self::init(&bin, &dir, durable, tls).map_err(cleanup_on_error)
    }

    fn init(
        bin: &Path,
        dir: &Path,
        durable: bool,
        tls: Option<(&str, &str)>,
    ) -> Result<Self, String> {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755))
            .map_err(|e| e.to_string())?;
        let data = dir.join("data");
        let password_file = dir.join("password");
        let password = format!("pw-{}", uuid::Uuid::now_v7().simple());
        std::fs::write(&password_file, format!("{password}\n")).map_err(|e| e.to_string())?;
        if is_root() {
            run(
                Command::new("chown")
                    .arg("nobody:nogroup")
                    .arg(dir)
                    .arg(&password_file),
                "chown",
            )?;
        }
        run(
            as_server_user(&bin.join("initdb"))
                .arg("-D")
                .arg(&data)
                .args([
                    "-U",
                    USER,
                    "--auth=scram-sha-256",
                    "-E",
                    "UTF8",
                    "--no-locale",
                ])
                .arg(format!("--pwfile={}", password_file.display()))
                .arg("--no-sync")
                .current_dir(dir),
            "initdb",
        )?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| e.to_string())?
            .port();
        let cluster = Self {
            dir: dir.to_path_buf(),
            bin: bin.to_path_buf(),
            port,
            password_file,
            durable,
            server: Mutex::new(None),
            watchdog: Mutex::new(None),
        };
        if let Some((cert, key)) = tls {
            cluster.require_tls(cert, key)?;
        }
        cluster.start_server()?;
        cluster.start_watchdog()?;
        Ok(cluster)
    }

    /// ssl = on, and pg_hba.conf accepts TCP connections over TLS only.
    fn require_tls(&self, cert: &str, key: &str) -> Result<(), String> {
        use std::os::unix::fs::PermissionsExt as _;
        let data = self.dir.join("data");
        let io = |e: std::io::Error| e.to_string();
        for (name, text) in [("server.crt", cert), ("server.key", key)] {
            let path = data.join(name);
            std::fs::write(&path, text).map_err(io)?;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).map_err(io)?;
            if is_root() {
                run(
                    Command::new("chown").arg("nobody:nogroup").arg(&path),
                    "chown",
                )?;
            }
        }
        let conf = data.join("postgresql.conf");
        let mut text = std::fs::read_to_string(&conf).map_err(io)?;
        text.push_str("\nssl = on\n");
        std::fs::write(&conf, text).map_err(io)?;
        std::fs::write(
            data.join("pg_hba.conf"),
            "local all all scram-sha-256\nhostssl all all 127.0.0.1/32 scram-sha-256\n",
        )
        .map_err(io)?;
        Ok(())
    }

    fn start_server(&self) -> Result<(), String> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("server.log"))
            .map_err(|e| e.to_string())?;
        let mut command = as_server_user(&self.bin.join("postgres"));
        if !self.durable {
            // Throwaway data: no fsync, so the tests spend their time on the hub.
            command.args([
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
            ]);
        }
        let child = command
            .arg("-D")
            .arg(self.dir.join("data"))
            .arg("-k")
            .arg(&self.dir)
            .args(["-p", &self.port.to_string()])
            .args([
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "max_connections=300",
            ])
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log)
            .current_dir(&self.dir)
            .spawn()
            .map_err(|e| format!("cannot start postgres: {e}"))?;
        *self.server.lock().unwrap() = Some(child);
        self.wait_ready()
    }

    fn wait_ready(&self) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            let ready = Command::new(self.bin.join("pg_isready"))
                .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-q"])
                .status()
                .is_ok_and(|s| s.success());
            if ready {
                return Ok(());
            }
            if let Some(child) = self.server.lock().unwrap().as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    let log =
                        std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default();
                    return Err(format!("postgres exited ({status}):\n{log}"));
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err("postgres did not get ready within 60 s".into())
    }

    /// Stops the server when this process's end closes its stdin, then removes the directory.
    fn start_watchdog(&self) -> Result<(), String> {
        let pid = self
            .server
            .lock()
            .unwrap()
            .as_ref()
            .map(Child::id)
            .ok_or("no server")?;
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(
                "read _ignored; \
                 pid=$(head -1 \"$1/data/postmaster.pid\" 2>/dev/null || echo \"$2\"); \
                 kill -QUIT \"$pid\" 2>/dev/null; \
                 i=0; while kill -0 \"$pid\" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done; \
                 rm -rf \"$1\"",
            )
            .arg("watchdog")
            .arg(&self.dir)
            .arg(pid.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start the watchdog: {e}"))?;
        let stdin = child.stdin.take().ok_or("no watchdog stdin")?;
        *self.watchdog.lock().unwrap() = Some((child, stdin));
        Ok(())
    }

    /// Stops the server (a fast shutdown: clients are disconnected) and waits until it is gone.
    pub fn stop(&self) {
        if let Some(mut child) = self.server.lock().unwrap().take() {
            let _ = Command::new("kill")
                .args(["-INT", &child.id().to_string()])
                .status();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port and data.
    pub fn restart(&self) {
        self.start_server().unwrap();
    }

    /// `postgres://reentry@127.0.0.1:PORT/DB`, no password (it is in [`Cluster::password_file`]).
    pub fn url(&self, db: &str) -> String {
        format!("postgres://{USER}@127.0.0.1:{}/{db}", self.port)
    }

    /// A fresh, empty database on this cluster.
    pub fn create_database(&self) -> String {
        static NEXT: AtomicU32 = AtomicU32::new(1);
        let name = format!(
            "hub_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        self.sql("postgres", &format!("CREATE DATABASE {name}"));
        name
    }

    /// Runs SQL as the superuser through psql (the machine's client), for setup and checks.
    pub fn sql(&self, db: &str, sql: &str) -> String {
        let psql = self.bin.join("psql");
        let output = Command::new(&psql)
            .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"])
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                USER,
                "-d",
                db,
            ])
            .args(["-c", sql])
            .env("PGPASSFILE", "/dev/null")
            .env(
                "PGPASSWORD",
                std::fs::read_to_string(&self.password_file).unwrap().trim(),
            )
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", psql.display()));
        assert!(
            output.status.success(),
            "psql {sql}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap().trim().to_string()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop();
        if let Some((mut child, stdin)) = self.watchdog.lock().unwrap().take() {
            drop(stdin);
            let _ = child.wait();
        }
    }
}
