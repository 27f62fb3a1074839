//! The independent FHIR R4 validator (the fhir.resources models, installed by
//! .ci/fhir-tools.sh into target/fhir-tools). CI sets REENTRY_FHIR_VALIDATOR_REQUIRED=1, so
//! there a missing validator fails the test; on a developer machine without it the test says
//! loudly that it skipped.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// The binary with its data and config directories inside `home`, so nothing leaks in or out.
pub fn cmd(home: &Path) -> assert_cmd::Command {
    let mut c = assert_cmd::Command::cargo_bin("reentry-board").expect("the binary");
    for (var, dir) in [
        ("HOME", ""),
        ("XDG_DATA_HOME", "data"),
        ("XDG_CONFIG_HOME", "config"),
        ("XDG_STATE_HOME", "state"),
    ] {
        c.env(var, home.join(dir));
    }
    for var in ["REENTRY_BOARD_DB", "REENTRY_BOARD_CONFIG", "RUST_LOG"] {
        c.env_remove(var);
    }
    c
}

/// A demo database (`init --demo`, with `args` such as `--as-of`) in `home`.
pub fn demo_db(home: &Path, args: &[&str]) -> PathBuf {
    let db = home.join("board.db");
    cmd(home)
        .args(["init", "--demo"])
        .args(args)
        .arg("--db")
        .arg(&db)
        .assert()
        .success();
    db
}

/// Every resource type the mapping makes (docs/FHIR.md).
pub const RESOURCE_TYPES: &[&str] = &[
    "Organization",
    "Location",
    "Practitioner",
    "Patient",
    "Encounter",
    "Coverage",
    "CareTeam",
    "MedicationRequest",
    "MedicationDispense",
    "DeviceRequest",
    "ServiceRequest",
    "Appointment",
    "Communication",
    "CarePlan",
    "Task",
    "Provenance",
];

pub struct Validator {
    python: PathBuf,
    script: PathBuf,
}

/// What the validator said about a set of files.
#[derive(Debug)]
pub struct Report {
    pub checked: u64,
    pub by_type: std::collections::BTreeMap<String, u64>,
    pub errors: Vec<String>,
}

impl Validator {
    /// The validator, or `None` (with a loud note) where it is not installed and not required.
    pub fn find() -> Option<Self> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let venv = std::env::var_os("FHIR_TOOLS_VENV")
            .map_or_else(|| root.join("target/fhir-tools"), PathBuf::from);
        let python = venv.join("bin/python");
        if python.exists() {
            return Some(Self {
                python,
                script: root.join(".ci/fhir_validate.py"),
            });
        }
        assert!(
            std::env::var_os("REENTRY_FHIR_VALIDATOR_REQUIRED").is_none(),
            "the FHIR validator is required (REENTRY_FHIR_VALIDATOR_REQUIRED) but {} is missing: \
             run `bash .ci/fhir-tools.sh`",
            python.display()
        );
        eprintln!(
            "\n*** SKIPPED: no FHIR validator at {}; run `bash .ci/fhir-tools.sh` to check the \
             resources with an independent validator ***\n",
            python.display()
        );
        None
    }

    /// Validates the files (`.json`: one resource; `.ndjson`: one a line).
    pub fn check(&self, files: &[PathBuf]) -> Report {
        let out = Command::new(&self.python)
            .arg(&self.script)
            .args(files)
            .output()
            .expect("run the FHIR validator");
        let line = String::from_utf8_lossy(&out.stdout);
        let v: Value = serde_json::from_str(line.trim()).unwrap_or_else(|e| {
            panic!(
                "the validator's answer is not JSON ({e}): {line}\n{}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
        let report = Report {
            checked: v["checked"].as_u64().unwrap_or(0),
            by_type: v["by_type"]
                .as_object()
                .map(|m| {
                    m.iter()
                        .map(|(k, n)| (k.clone(), n.as_u64().unwrap_or(0)))
                        .collect()
                })
                .unwrap_or_default(),
            errors: v["errors"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|e| e.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default(),
        };
        assert_eq!(
            out.status.success(),
            report.errors.is_empty(),
            "exit status and errors disagree: {line}"
        );
        report
    }

    /// Validates resources held in memory (written to a temporary NDJSON file).
    pub fn check_values(&self, values: &[Value]) -> Report {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("resources.ndjson");
        let text: String = values.iter().map(|v| format!("{v}\n")).collect();
        std::fs::write(&path, text).expect("write resources");
        self.check(&[path])
    }
}
