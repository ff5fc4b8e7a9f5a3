//! `hybrid-bff [CONFIG.toml]`: loads the configuration (path also from `BFF_CONFIG`), then serves until
//! SIGINT/SIGTERM, finishing in-flight requests.

use bff::config::{Config, LogFormat};
use std::path::PathBuf;
use std::process::ExitCode;

/// mimalloc instead of glibc's malloc: each proxied call allocates and frees a few dozen small blocks on
/// two threads, where glibc's arenas and consolidation cost measurably more (see BENCHMARKS.md, proxy).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The main thread's runtime starts the BFF and then runs its background work (discovery, the store's
/// connections, `metrics_listen`); requests are served on threads of their own ([`bff::serve::run_on_threads`]).
#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let path = std::env::args()
        .nth(1)
        .or_else(|| std::env::var("BFF_CONFIG").ok())
        .map_or_else(development_config, PathBuf::from);
    let config = match Config::load(&path, std::env::vars()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("hybrid-bff: {e}");
            return ExitCode::from(2);
        }
    };
    init_logs(config.log_format);
    bff::panic::install_hook();
    let listeners = match bff::serve::Listeners::bind(&config).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("hybrid-bff: {e}");
            return ExitCode::from(2);
        }
    };
    let (listen, metrics_listen) = (config.listen, config.metrics_listen);
    if !config.metrics_on_main_listener() && metrics_listen.is_none() {
        tracing::info!(
            "/metrics is off: the BFF serves the SPA on `listen`; set metrics_listen to scrape it"
        );
    }
    let (state, discovery) = match bff::start(config) {
        Ok(started) => started,
        Err(e) => {
            eprintln!("hybrid-bff: {e}");
            return ExitCode::from(2);
        }
    };
    tracing::info!(%listen, ?metrics_listen, "BFF listening");
    let server = bff::serve::run_on_threads(state, listeners, shutdown_signal());
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

/// No file named: the development configuration, said loudly, since its secrets are public (config validation
/// refuses them for any `public_origin` but localhost).
fn development_config() -> PathBuf {
    let path = bff::config::DEV_CONFIG_PATH;
    eprintln!(
        "hybrid-bff: no configuration file given (argument or BFF_CONFIG): loading the DEVELOPMENT configuration \
         {path}, whose client secret and session key are public; never use it for a deployment"
    );
    PathBuf::from(path)
}

/// Log lines as text or one JSON object per line (`log_format`); `RUST_LOG` filters either way. The request
/// id is a field of each request's span, so it appears in both formats. Text is coloured only on a terminal:
/// in a file or a journal, escape codes around every field name are noise for whoever greps it (and cost a
/// little formatting per request span).
fn init_logs(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "info,hyper=warn,reqwest=warn".into());
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()));
    match format {
        // Written as the default writes them, cheaper per request span (see `bff::logs`).
        LogFormat::Text => logs.fmt_fields(bff::logs::TextFields).init(),
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
