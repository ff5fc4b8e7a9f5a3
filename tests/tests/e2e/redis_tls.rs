//! Sessions in Redis over TLS (`rediss://`): a throw-away `redis-server` with only a TLS port, its certificate
//! signed by a CA made with `openssl` for this test run. With `session.redis_ca_file` naming that CA the BFF
//! keeps sessions there (a login end to end); without it the server's certificate is not trusted and the store
//! is unreachable: the connection is verified, not merely encrypted.

use bff::config::Config;
use hybrid_e2e::authorize::BffClient;
use hybrid_e2e::stack::{Process, Stack, StackOptions};
use hybrid_e2e::{free_port, repo_root, wait_for};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const KEY: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("openssl runs");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA, and a certificate it signs for `localhost` and 127.0.0.1, in `dir`: `ca.crt`, `server.crt`, `server.key`.
fn make_certificates(dir: &Path) {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).unwrap();
    let days = ["-days", "2"];
    openssl(
        dir,
        &[
            &[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                "ca.key",
                "-out",
                "ca.crt",
                "-subj",
                "/CN=hybrid test CA",
            ][..],
            &days,
        ]
        .concat(),
    );
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=localhost",
        ],
    );
    std::fs::write(
        dir.join("san.ext"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\n",
    )
    .unwrap();
    openssl(
        dir,
        &[
            &[
                "x509",
                "-req",
                "-in",
                "server.csr",
                "-CA",
                "ca.crt",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                "server.crt",
                "-extfile",
                "san.ext",
            ][..],
            &days,
        ]
        .concat(),
    );
}

/// `redis-server` listening for TLS only on `port` (no client certificates asked), no persistence.
async fn start_tls_redis(dir: &Path, port: u16) -> Process {
    let file = |name: &str| dir.join(name).display().to_string();
    let process = Process::spawn(
        &format!("redis-tls-{port}"),
        "redis-server",
        &[
            "--port",
            "0",
            "--tls-port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--tls-cert-file",
            &file("server.crt"),
            "--tls-key-file",
            &file("server.key"),
            "--tls-ca-cert-file",
            &file("ca.crt"),
            "--tls-auth-clients",
            "no",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        &[],
    );
    wait_for(
        "redis-server's TLS port",
        Duration::from_secs(15),
        || async {
            tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .ok()
                .map(|_| ())
        },
    )
    .await;
    process
}

fn session_toml(port: u16, ca: Option<&PathBuf>) -> String {
    let ca = ca.map_or(String::new(), |ca| {
        format!("redis_ca_file = {:?}\n", ca.display().to_string())
    });
    format!(
        "[session]\nstore = \"redis\"\nredis_url = \"rediss://localhost:{port}/0\"\nredis_prefix = \"tls:\"\nkeys = [\"{KEY}\"]\n{ca}"
    )
}

#[tokio::test]
async fn sessions_live_in_redis_over_tls_with_a_private_ca() {
    let port = free_port();
    let dir = repo_root().join(format!("target/e2e-logs/redis-tls-{port}"));
    make_certificates(&dir);
    let _redis = start_tls_redis(&dir, port).await;
    let ca = dir.join("ca.crt");

    // Without the CA the server's certificate is unknown: the handshake fails and so does the store.
    let base = "public_origin = \"http://localhost:8080\"\n[oidc]\nissuer = \"http://127.0.0.1:9\"\nclient_id = \"c\"\nclient_secret = \"s\"\nredirect_uri = \"http://localhost:8080/callback\"\n";
    let untrusted = Config::from_toml(
        &format!("{base}{}", session_toml(port, None)),
        std::iter::empty(),
    )
    .unwrap();
    let store = bff::open_store(&untrusted.session).unwrap();
    assert!(
        store.ping().await.is_err(),
        "an untrusted certificate was accepted"
    );
    let trusted = Config::from_toml(
        &format!("{base}{}", session_toml(port, Some(&ca))),
        std::iter::empty(),
    )
    .unwrap();
    bff::open_store(&trusted.session)
        .unwrap()
        .ping()
        .await
        .unwrap();
    // A CA file that cannot be read stops the start, naming the setting.
    let missing = dir.join("no-such-ca.pem");
    let unreadable = Config::from_toml(
        &format!("{base}{}", session_toml(port, Some(&missing))),
        std::iter::empty(),
    )
    .unwrap();
    let e = bff::open_store(&unreadable.session).err().expect("refused");
    assert!(e.to_string().contains("session.redis_ca_file"), "{e}");

    // A login end to end, its session kept in the TLS Redis.
    let stack = Stack::start(StackOptions {
        bff_toml: session_toml(port, Some(&ca)),
        ..Default::default()
    })
    .await;
    let bff = BffClient::new(&stack.origin);
    bff.log_in_at_op(&stack.redirect_uri).await;
    assert_eq!(bff.get("/bff/user").await.status(), 200);
    let metrics = bff.get("/metrics").await.text().await.unwrap();
    assert!(metrics.contains("bff_active_sessions 1"), "{metrics}");
}
