//! The real `serve` binary on 127.0.0.1 and a random port, Debian's OpenSSH client as the user,
//! keys made with ssh-keygen in a tempdir.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::pty::Pty;

pub const WAIT: Duration = Duration::from_secs(15);
pub const SSH: &str = "/usr/bin/ssh";

/// `.ci/run` installs openssh-client; a machine without it skips rather than fails.
pub fn have_openssh() -> bool {
    let present = Path::new(SSH).exists() && Path::new("/usr/bin/ssh-keygen").exists();
    if !present {
        eprintln!("skipped: the OpenSSH client is not installed");
    }
    present
}

pub struct Server {
    pub child: Child,
    pub port: u16,
    pub home: tempfile::TempDir,
    pub db: PathBuf,
    pub stdout: Arc<Mutex<String>>,
    pub stderr: Arc<Mutex<String>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn bin(home: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_reentry-board"));
    env(&mut cmd, home);
    cmd
}

fn env(cmd: &mut Command, home: &Path) {
    cmd.env("HOME", home)
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_STATE_HOME", home.join("state"))
        .env_remove("REENTRY_BOARD_DB");
}

pub fn run_ok(cmd: &mut Command) {
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{cmd:?}: {out:?}");
}

pub fn keygen(home: &Path, name: &str) -> String {
    run_ok(
        Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-C", name, "-f"])
            .arg(home.join(name)),
    );
    std::fs::read_to_string(home.join(format!("{name}.pub")))
        .unwrap()
        .trim()
        .to_string()
}

/// Makes the authorized_keys bytes from the public keys of alice, bob and carol.
pub type KeysFile<'a> = &'a dyn Fn(&[String; 3]) -> Vec<u8>;

/// How a test server is set up.
#[derive(Default)]
pub struct Launch<'a> {
    /// Run `serve` under this program (`prlimit --nofile=...`), or directly when empty.
    pub under: &'a [&'a str],
    /// `serve` flags after the required ones.
    pub extra: &'a [&'a str],
    /// The authorized_keys bytes, from the public keys of alice, bob and carol (in that
    /// order); `None`: alice by her comment, a malformed line, bob by `login=`.
    pub keys: Option<KeysFile<'a>>,
}

/// A demo database with alice as coordinator (bob is not a user: a viewer), alice's key listed
/// by its comment, bob's by a `login=` option, a malformed line between them, carol's not at all.
pub fn start() -> Server {
    start_with(&[])
}

pub fn start_with(extra: &[&str]) -> Server {
    launch(&Launch {
        extra,
        ..Launch::default()
    })
}

pub fn launch(how: &Launch<'_>) -> Server {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path();
    let db = dir.join("board.db");
    run_ok(bin(dir).args(["init", "--demo", "--db"]).arg(&db));
    run_ok(bin(dir).args(["users", "--db"]).arg(&db).args([
        "add",
        "alice",
        "--role",
        "coordinator",
    ]));
    let public = ["alice", "bob", "carol"].map(|name| keygen(dir, name));
    let keys = match how.keys {
        Some(make) => make(&public),
        None => format!(
            "{}\nssh-ed25519 not-base64!!\nlogin=\"bob\" {}\n",
            public[0], public[1]
        )
        .into_bytes(),
    };
    std::fs::write(dir.join("authorized_keys"), keys).unwrap();
    let mut child = serve_command(how.under, dir, &db)
        .args(how.extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = Arc::new(Mutex::new(String::new()));
    collect(child.stderr.take().unwrap(), stderr.clone());
    let stdout = Arc::new(Mutex::new(String::new()));
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let port = loop {
        let Some(line) = lines.next() else {
            panic!("serve ended before listening: {}", stderr.lock().unwrap());
        };
        let line = line.unwrap();
        push(&stdout, &line);
        if let Some(addr) = line.strip_prefix("ssh server listening on ") {
            break addr.rsplit(':').next().unwrap().parse().unwrap();
        }
    };
    let sink = stdout.clone();
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            push(&sink, &line);
        }
    });
    Server {
        child,
        port,
        db,
        home,
        stdout,
        stderr,
    }
}

/// `serve` with the test's database, host key and authorized keys, under `under` if given.
pub fn serve_command(under: &[&str], dir: &Path, db: &Path) -> Command {
    let binary = env!("CARGO_BIN_EXE_reentry-board");
    let mut cmd = match under.split_first() {
        Some((program, args)) => {
            let mut cmd = Command::new(program);
            cmd.args(args).arg(binary);
            cmd
        }
        None => Command::new(binary),
    };
    env(&mut cmd, dir);
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--db"])
        .arg(db)
        .arg("--host-key")
        .arg(dir.join("host_key"))
        .arg("--authorized-keys")
        .arg(dir.join("authorized_keys"));
    cmd
}

fn push(sink: &Mutex<String>, line: &str) {
    let mut sink = sink.lock().unwrap();
    sink.push_str(line);
    sink.push('\n');
}

fn collect(from: impl std::io::Read + Send + 'static, sink: Arc<Mutex<String>>) {
    std::thread::spawn(move || {
        for line in BufReader::new(from).lines().map_while(Result::ok) {
            push(&sink, &line);
        }
    });
}

impl Server {
    pub fn args(&self, key: &str) -> Vec<String> {
        self.args_for(&[key])
    }

    /// OpenSSH options offering `keys` in this order, and nothing else.
    pub fn args_for(&self, keys: &[&str]) -> Vec<String> {
        let mut args: Vec<String> = ["-F", "/dev/null", "-p", &self.port.to_string()]
            .iter()
            .map(|s| s.to_string())
            .collect();
        for key in keys {
            args.push("-i".into());
            args.push(self.home.path().join(key).to_str().unwrap().to_string());
        }
        args.extend(
            [
                "-o",
                "IdentitiesOnly=yes",
                "-o",
                "IdentityAgent=none",
                "-o",
                "StrictHostKeyChecking=no",
                "-o",
                "UserKnownHostsFile=/dev/null",
                "-o",
                "BatchMode=yes",
            ]
            .map(String::from),
        );
        args
    }

    pub fn ssh(&self, key: &str, extra: &[&str]) -> Output {
        self.ssh_offering(&[key], extra)
    }

    pub fn ssh_offering(&self, keys: &[&str], extra: &[&str]) -> Output {
        Command::new(SSH)
            .args(self.args_for(keys))
            .args(["-o", "LogLevel=ERROR"])
            .args(extra)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    /// Signs in with `key` without a terminal: `Ok` when the key was accepted (the server
    /// then says the board needs a terminal), `Err(stderr)` when it was refused.
    pub fn signs_in(&self, keys: &[&str], extra: &[&str]) -> Result<(), String> {
        let mut args = extra.to_vec();
        args.extend(["-T", "x@127.0.0.1"]);
        let out = self.ssh_offering(keys, &args);
        let said = String::from_utf8_lossy(&out.stderr).into_owned();
        match out.status.code() {
            Some(1) if said.contains("the board needs a terminal") => Ok(()),
            _ => Err(format!("{:?}: {said}", out.status.code())),
        }
    }

    /// A board session for `key` in a pty, as a user would run it.
    pub fn session(&self, key: &str, cols: u16, rows: u16) -> Pty {
        let mut args = self.args(key);
        args.extend(["-o", "LogLevel=ERROR", "-tt"].map(String::from));
        args.push(format!("{key}@127.0.0.1"));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        Pty::spawn_program(Path::new(SSH), self.home.path(), &args, cols, rows, &[])
    }

    pub fn stop(&mut self) {
        run_ok(
            Command::new("kill")
                .arg("-TERM")
                .arg(self.child.id().to_string()),
        );
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    pub fn stdout(&self) -> String {
        self.stdout.lock().unwrap().clone()
    }

    /// Waits until the server's stderr shows `text`.
    pub fn wait_stderr(&self, text: &str) {
        let start = Instant::now();
        while start.elapsed() < WAIT {
            if self.stderr().contains(text) {
                return;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        panic!("waited for {text:?} on stderr: {}", self.stderr());
    }

    /// Everything the server logged so far (its log files under the test's state directory).
    pub fn log(&self) -> String {
        let dir = self.home.path().join("state/reentry-board");
        let mut text = String::new();
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            text.push_str(&std::fs::read_to_string(entry.path()).unwrap_or_default());
        }
        text
    }

    /// Waits until the server's log shows `text`.
    pub fn wait_log(&self, text: &str) {
        let start = Instant::now();
        while start.elapsed() < WAIT {
            if self.log().contains(text) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("waited for {text:?} in the log: {}", self.log());
    }

    /// The server's pid (under `prlimit`, the same process: prlimit execs it).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// Descriptors the server holds now.
    pub fn open_files(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.pid()))
            .map(|dir| dir.count())
            .unwrap_or(0)
    }
}

pub fn stderr_of(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}
