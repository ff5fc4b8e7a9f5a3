//! Not the product: an experiment for BENCHMARKS.md §3. The floor of a proxy on tokio on this machine, and what
//! hyper's server and client each add to it. Two current-thread runtimes, each with its own `SO_REUSEPORT`
//! socket (as the BFF binary), `httparse` both ways, a thread-local pool of upstream connections, a 690-byte
//! `Authorization` added, `Content-Length` bodies only: no session, no layers, no error handling worth the name.
//! Takes the BFF's config file (its `listen` and `[apis.trivial] url`), so `scripts/bench-proxy-ab` runs it:
//!
//!   cargo build --release --manifest-path bench/floor-proxy/Cargo.toml
//!   scripts/bench-proxy-ab floor=bench/floor-proxy/target/release/floor-proxy \
//!     hyper-server=bench/floor-proxy/target/release/floor-proxy:FLOOR_SERVER=hyper \
//!     hyper-client=bench/floor-proxy/target/release/floor-proxy:FLOOR_CLIENT=hyper
//!
//! FLOOR_SERVER=hyper: hyper's HTTP/1 server connection and a `service_fn` instead of the raw httparse loop.
//! FLOOR_CLIENT=hyper: hyper-util's pooled client (one per thread, as the BFF had) instead of the raw pool.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use std::cell::RefCell;
use std::net::SocketAddr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};

type HClient = hyper_util::client::legacy::Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>;
thread_local! {
    static POOL: RefCell<Vec<TcpStream>> = RefCell::new(Vec::new());
    static HC: RefCell<Option<HClient>> = RefCell::new(None);
}
static TOKEN: std::sync::OnceLock<String> = std::sync::OnceLock::new();
static UP: std::sync::OnceLock<SocketAddr> = std::sync::OnceLock::new();
fn token() -> &'static str { TOKEN.get().expect("set in main") }
fn up() -> SocketAddr { *UP.get().expect("set in main") }

fn main() {
    let path = std::env::args().nth(1).unwrap();
    let text = std::fs::read_to_string(path).unwrap();
    let val = |key: &str| text.lines().filter(|l| l.starts_with(key)).last().unwrap().split('"').nth(1).unwrap().to_owned();
    let listen: SocketAddr = val("listen =").parse().unwrap();
    UP.set(val("url =").trim_start_matches("http://").parse().unwrap()).unwrap();
    // An access token of the dev OP's size, as the BFF adds one (the A/B's APIs are public: `token = false`).
    TOKEN.set("Bearer ".to_owned() + &"x".repeat(683)).unwrap();
    let hyper_server = std::env::var("FLOOR_SERVER").as_deref() == Ok("hyper");
    let hyper_client = std::env::var("FLOOR_CLIENT").as_deref() == Ok("hyper");
    let threads: Vec<_> = (0..2).map(|_| std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let local = tokio::task::LocalSet::new();
        local.block_on(&rt, async move {
            if hyper_client {
                let mut http = hyper_util::client::legacy::connect::HttpConnector::new();
                http.set_nodelay(true);
                let c = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build(http);
                HC.with(|h| *h.borrow_mut() = Some(c));
            }
            let s = TcpSocket::new_v4().unwrap();
            s.set_reuseaddr(true).unwrap(); s.set_reuseport(true).unwrap(); s.bind(listen).unwrap();
            let l: TcpListener = s.listen(1024).unwrap();
            loop {
                let (c, _) = l.accept().await.unwrap();
                c.set_nodelay(true).unwrap();
                if hyper_server {
                    tokio::task::spawn_local(async move {
                        let svc = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| async move {
                            let path = req.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/");
                            let path = path.strip_prefix("/api/trivial").unwrap_or(path).to_owned();
                            let (status, body) = forward(&path, hyper_client).await.unwrap_or((502, Bytes::new()));
                            let mut r = hyper::Response::new(Full::new(body));
                            *r.status_mut() = hyper::StatusCode::from_u16(status).unwrap();
                            let h = r.headers_mut();
                            h.insert("content-type", hyper::header::HeaderValue::from_static("application/json"));
                            h.insert("cache-control", hyper::header::HeaderValue::from_static("no-store"));
                            h.insert("x-content-type-options", hyper::header::HeaderValue::from_static("nosniff"));
                            Ok::<_, std::convert::Infallible>(r)
                        });
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(hyper_util::rt::TokioIo::new(c), svc).await;
                    });
                } else {
                    tokio::task::spawn_local(conn(c, hyper_client));
                }
            }
        })
    })).collect();
    for t in threads { t.join().unwrap(); }
}

/// One upstream call: (status, body).
async fn forward(path: &str, hyper_client: bool) -> Option<(u16, Bytes)> {
    if hyper_client {
        let c = HC.with(|h| h.borrow().clone().unwrap());
        let req = hyper::Request::get(format!("http://{}{}", up(), path))
            .header("accept", "*/*").header("authorization", token())
            .body(Full::new(Bytes::new())).ok()?;
        let resp = c.request(req).await.ok()?;
        let status = resp.status().as_u16();
        let body = resp.into_body().collect().await.ok()?.to_bytes();
        return Some((status, body));
    }
    let mut out = Vec::with_capacity(1024);
    out.extend_from_slice(b"GET ");
    out.extend_from_slice(path.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\nhost: upstream\r\naccept: */*\r\nauthorization: ");
    out.extend_from_slice(token().as_bytes());
    out.extend_from_slice(b"\r\n\r\n");
    let mut u = match POOL.with(|p| p.borrow_mut().pop()) {
        Some(u) => u,
        None => { let u = TcpStream::connect(up()).await.ok()?; u.set_nodelay(true).ok()?; u }
    };
    u.write_all(&out).await.ok()?;
    let mut ubuf = vec![0u8; 8192];
    let mut ufilled = 0;
    let (status, body_start, len) = loop {
        let n = u.read(&mut ubuf[ufilled..]).await.ok()?;
        if n == 0 { return None; }
        ufilled += n;
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut resp = httparse::Response::new(&mut headers);
        if let Ok(httparse::Status::Complete(n)) = resp.parse(&ubuf[..ufilled]) {
            let len = resp.headers.iter().find(|h| h.name.eq_ignore_ascii_case("content-length"))
                .and_then(|h| std::str::from_utf8(h.value).ok()?.parse::<usize>().ok()).unwrap_or(0);
            break (resp.code.unwrap(), n, len);
        }
    };
    while ufilled < body_start + len {
        let n = u.read(&mut ubuf[ufilled..]).await.ok()?;
        if n == 0 { return None; }
        ufilled += n;
    }
    POOL.with(|p| p.borrow_mut().push(u));
    Some((status, Bytes::copy_from_slice(&ubuf[body_start..body_start + len])))
}

async fn conn(mut c: TcpStream, hyper_client: bool) {
    let mut buf = vec![0u8; 16384];
    let mut filled = 0;
    let mut out = Vec::with_capacity(2048);
    loop {
        let (path, consumed) = loop {
            let mut headers = [httparse::EMPTY_HEADER; 32];
            let mut req = httparse::Request::new(&mut headers);
            match req.parse(&buf[..filled]) {
                Ok(httparse::Status::Complete(n)) => {
                    let p = req.path.unwrap();
                    break (p.strip_prefix("/api/trivial").unwrap_or(p).to_owned(), n);
                }
                Ok(httparse::Status::Partial) => {}
                Err(_) => return,
            }
            match c.read(&mut buf[filled..]).await { Ok(0) | Err(_) => return, Ok(n) => filled += n }
        };
        buf.copy_within(consumed..filled, 0);
        filled -= consumed;
        let Some((status, body)) = forward(&path, hyper_client).await else { return };
        out.clear();
        out.extend_from_slice(b"HTTP/1.1 ");
        out.extend_from_slice(status.to_string().as_bytes());
        out.extend_from_slice(b" OK\r\ncontent-type: application/json\r\ncontent-length: ");
        out.extend_from_slice(body.len().to_string().as_bytes());
        out.extend_from_slice(b"\r\ncache-control: no-store\r\nx-content-type-options: nosniff\r\n\r\n");
        out.extend_from_slice(&body);
        if c.write_all(&out).await.is_err() { return; }
    }
}
