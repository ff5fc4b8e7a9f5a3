//! The BFF as its own OS process (the `hybrid-bff` binary, not the in-process server of [`crate::stack`]), for
//! what only a process can show: being killed with SIGKILL (no graceful shutdown, no destructors) and started
//! again on the same configuration.
//!
//! The binary is not built by `cargo test -p hybrid-e2e` (Cargo only builds the binaries of the packages under
//! test): `cargo test --workspace` builds it for the BFF's own integration tests (scripts/test), or
//! `cargo build -p hybrid-bff` first. A binary older than a source it was built from is refused, so a test never
//! passes against stale code.

use crate::repo_root;
use crate::stack::Process;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A running `hybrid-bff` on 127.0.0.1; killed when dropped.
pub struct BffProcess {
    /// The browser-facing origin, `http://localhost:PORT` (as [`crate::stack::BffHandle::origin`]).
    pub origin: String,
    pub port: u16,
    config: PathBuf,
    program: PathBuf,
    envs: Vec<(String, String)>,
    process: Option<Process>,
    runs: u32,
}

impl BffProcess {
    /// Writes `config_toml` (a whole configuration, e.g. [`crate::stack::Stack::bff_config`]) to a file under
    /// `target/e2e-logs/`, starts the binary with it and waits until `/readyz` answers 200.
    pub async fn start(port: u16, config_toml: &str) -> BffProcess {
        BffProcess::start_program(binary(), &[], port, config_toml).await
    }

    /// As [`BffProcess::start`], but runs `program` (another build of the binary, for a benchmark's A/B) with
    /// `envs` added to its environment.
    pub async fn start_program(
        program: PathBuf,
        envs: &[(String, String)],
        port: u16,
        config_toml: &str,
    ) -> BffProcess {
        let dir = repo_root().join("target/e2e-logs");
        std::fs::create_dir_all(&dir).expect("log dir");
        let config = dir.join(format!("bff-process-{port}.toml"));
        std::fs::write(&config, config_toml).expect("BFF config file");
        let mut bff = BffProcess {
            origin: format!("http://localhost:{port}"),
            port,
            config,
            program,
            envs: envs.to_vec(),
            process: None,
            runs: 0,
        };
        bff.start_again().await;
        bff
    }

    /// The running process's id (e.g. for a profiler to attach to).
    pub fn pid(&self) -> Option<u32> {
        self.process.as_ref().map(Process::id)
    }

    /// SIGKILL: the process dies at once, mid-request if need be; its port refuses connections afterwards.
    pub fn kill(&mut self) {
        // `Process` kills with SIGKILL (std's `Child::kill`) and reaps it when dropped.
        self.process.take().expect("the BFF process is running");
    }

    /// Starts the binary again with the same configuration file (after [`BffProcess::kill`]).
    pub async fn start_again(&mut self) {
        assert!(self.process.is_none(), "the BFF process is still running");
        self.runs += 1;
        let log = format!("bff-process-{}-run{}", self.port, self.runs);
        let config = self.config.display().to_string();
        let program = self.program.display().to_string();
        let envs: Vec<(&str, String)> = self
            .envs
            .iter()
            .map(|(k, v)| (k.as_str(), v.clone()))
            .collect();
        let mut process = Process::spawn(&log, &program, &[&config], &envs);
        let http = reqwest::Client::new();
        let ready = format!("http://127.0.0.1:{}/readyz", self.port);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            process.assert_running();
            let answer = http.get(&ready).send().await;
            if answer.is_ok_and(|r| r.status().is_success()) {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the BFF process was not ready within 30 s; see target/e2e-logs/{log}.log"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.process = Some(process);
    }
}

/// Runs the binary with `config_toml` until it exits by itself (a configuration it refuses at start), within
/// 30 s; answers its exit code and what it wrote to stderr.
pub async fn run_until_refused(name: &str, config_toml: &str) -> (i32, String) {
    let dir = repo_root().join("target/e2e-logs");
    std::fs::create_dir_all(&dir).expect("log dir");
    let config = dir.join(format!("bff-refused-{name}.toml"));
    std::fs::write(&config, config_toml).expect("BFF config file");
    let mut child = std::process::Command::new(binary())
        .arg(&config)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the BFF binary starts");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().expect("the BFF process") {
            break status;
        }
        if tokio::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("the BFF did not refuse the configuration {name} within 30 s");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr"), &mut stderr)
        .expect("stderr");
    (status.code().unwrap_or(-1), stderr)
}

/// `target/<profile>/hybrid-bff`, next to this test binary's `deps/` directory; panics with the fix when it is
/// missing or older than a source it was built from (as listed by Cargo in `hybrid-bff.d`).
fn binary() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("the test binary is in target/<profile>/deps");
    let binary = profile_dir.join("hybrid-bff");
    let fix = "run `cargo build -p hybrid-bff` first (`cargo test --workspace` builds it too)";
    let built = std::fs::metadata(&binary)
        .and_then(|m| m.modified())
        .unwrap_or_else(|_| panic!("{} is missing: {fix}", binary.display()));
    let dep_info = std::fs::read_to_string(binary.with_extension("d")).unwrap_or_default();
    let sources = dep_info.split_once(": ").map_or("", |(_, sources)| sources);
    let stale = sources.split_whitespace().find(|source| {
        std::fs::metadata(source)
            .and_then(|m| m.modified())
            .is_ok_and(|changed| changed > built)
    });
    if let Some(source) = stale {
        panic!("{} is older than {source}: {fix}", binary.display());
    }
    binary
}
