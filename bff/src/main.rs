//! `hybrid-bff [CONFIG.toml]`: loads the configuration (path also from `BFF_CONFIG`), then serves until
//! SIGINT/SIGTERM, finishing in-flight requests.

use bff::config::{Config, LogFormat};
use std::path::PathBuf;
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let path = std::env::args()
        .nth(1)
        .or_else(|| std::env::var("BFF_CONFIG").ok())
        .map_or_else(|| PathBuf::from("bff/config/dev.toml"), PathBuf::from);
    let config = match Config::load(&path, std::env::vars()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("hybrid-bff: {e}");
            return ExitCode::from(2);
        }
    };
    init_logs(config.log_format);
    bff::panic::install_hook();
    let listen = config.listen;
    let (state, discovery) = match bff::start(config) {
        Ok(started) => started,
        Err(e) => {
            eprintln!("hybrid-bff: {e}");
            return ExitCode::from(2);
        }
    };
    let listener = match tokio::net::TcpListener::bind(listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("hybrid-bff: cannot listen on {listen}: {e}");
            return ExitCode::from(2);
        }
    };
    tracing::info!(%listen, "BFF listening");
    let server =
        axum::serve(listener, bff::app::router(state)).with_graceful_shutdown(shutdown_signal());
    tokio::select! {
        result = server => match result {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => { eprintln!("hybrid-bff: {e}"); ExitCode::FAILURE }
        },
        Ok(Err(e)) = discovery => {
            eprintln!("hybrid-bff: {e}");
            ExitCode::from(3)
        }
    }
}

/// Log lines as text or one JSON object per line (`log_format`); `RUST_LOG` filters either way. The request
/// id is a field of each request's span, so it appears in both formats.
fn init_logs(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "info,hyper=warn,reqwest=warn".into());
    let logs = tracing_subscriber::fmt().with_env_filter(filter);
    match format {
        LogFormat::Text => logs.init(),
        LogFormat::Json => logs.json().init(),
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down");
}
