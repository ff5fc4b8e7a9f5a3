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
    _process: Process,
}

impl RedisServer {
    /// Starts the server and waits until it answers `PING`.
    pub async fn start() -> RedisServer {
        let port = free_port();
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
        RedisServer {
            url: format!("redis://127.0.0.1:{port}/0"),
            port,
            _process: process,
        }
    }
}

fn ping(port: u16) -> bool {
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(1)));
    let mut buf = [0u8; 7];
    s.write_all(b"PING\r\n").is_ok() && s.read_exact(&mut buf).is_ok() && &buf == b"+PONG\r\n"
}
