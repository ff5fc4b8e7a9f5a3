//! A throw-away `redis-server` (Debian package) on a free port: no persistence, stopped by PID when dropped.
//! Never the system service.

use crate::stack::Process;
use crate::{free_port, wait_for};
use std::io::{Read, Write};
use std::time::Duration;

pub struct RedisServer {
    /// `redis://127.0.0.1:PORT/0`
    pub url: String,
    pub port: u16,
    process: Option<Process>,
}

impl RedisServer {
    /// Starts the server and waits until it answers `PING`.
    pub async fn start() -> RedisServer {
        let port = free_port();
        RedisServer {
            url: format!("redis://127.0.0.1:{port}/0"),
            port,
            process: Some(spawn(port).await),
        }
    }

    /// The BFF's `[session]` table for this server: the Redis store, its keys under `prefix`, sealed with `key`
    /// (base64 of 32 bytes).
    pub fn session_toml(&self, prefix: &str, key: &str) -> String {
        format!(
            "[session]\nstore = \"redis\"\nredis_url = \"{}\"\nredis_prefix = \"{prefix}\"\nkeys = [\"{key}\"]\n",
            self.url
        )
    }

    /// Kills the server (SIGKILL, as a crash); its port refuses connections until [`RedisServer::start_again`].
    pub fn kill(&mut self) {
        // Dropping the process kills it and waits for it, so its port is free again.
        self.process = None;
    }

    /// After [`RedisServer::kill`]: an empty server on the same port (nothing persisted), as after a Redis
    /// restart. Returns once it answers `PING`.
    pub async fn start_again(&mut self) {
        assert!(self.process.is_none(), "redis-server is still running");
        self.process = Some(spawn(self.port).await);
    }
}

async fn spawn(port: u16) -> Process {
    let process = Process::spawn(
        &format!("redis-{port}"),
        "redis-server",
        &[
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        &[],
    );
    wait_for(
        "redis-server to answer PING",
        Duration::from_secs(15),
        || async { ping(port).then_some(()) },
    )
    .await;
    process
}

fn ping(port: u16) -> bool {
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(1)));
    let mut buf = [0u8; 7];
    s.write_all(b"PING\r\n").is_ok() && s.read_exact(&mut buf).is_ok() && &buf == b"+PONG\r\n"
}
