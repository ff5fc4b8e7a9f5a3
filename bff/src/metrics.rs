//! Prometheus metrics, hand-rolled: a few counters and one histogram do not justify a metrics framework, and
//! the text format (version 0.0.4) is simple and stable.
//!
//! Labels are fixed, low-cardinality values (rule names, outcomes, configured API names), never user input.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds (seconds) of the proxy latency buckets.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

/// The status classes of a proxied call, in the order they are rendered (sorted, as before).
const CLASSES: [&str; 5] = ["2xx", "3xx", "4xx", "5xx", "error"];

/// The outcomes of a userinfo request, in the order they are rendered: read and merged, unavailable (the
/// sign-in went on without it, or was refused when it is required), refused (sub mismatch, bad signature, ...).
pub const USERINFO_OUTCOMES: [&str; 3] = ["ok", "refused", "unavailable"];

/// One latency histogram of atomics: a call adds to one bucket (the first bound it fits, or the overflow slot)
/// and to the sum; the cumulative counts and the total are derived when rendering, so they always agree.
#[derive(Default)]
struct Histogram {
    /// `BUCKETS.len()` bounded slots, then the overflow (> the last bound).
    counts: [AtomicU64; BUCKETS.len() + 1],
    sum_nanos: AtomicU64,
}

impl Histogram {
    fn observe(&self, elapsed: Duration) {
        let secs = elapsed.as_secs_f64();
        let slot = BUCKETS
            .iter()
            .position(|bound| secs <= *bound)
            .unwrap_or(BUCKETS.len());
        self.counts[slot].fetch_add(1, Relaxed);
        let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        self.sum_nanos.fetch_add(nanos, Relaxed);
    }
}

/// The BFF's metrics registry, shared through the app state.
///
/// The proxy path is the hot one (every API call): its histograms are registered once per configured upstream
/// and class at start, so a call is a map lookup by name and three relaxed atomic adds, no lock and no
/// allocation. Logins and refreshes are rare next to it and keep a small locked map.
#[derive(Default)]
pub struct Metrics {
    logins: Mutex<BTreeMap<(&'static str, &'static str), u64>>,
    refreshes: Mutex<BTreeMap<&'static str, u64>>,
    /// Userinfo requests by outcome ([`USERINFO_OUTCOMES`]), registered at start so every series exists from
    /// the first scrape (an alert on `unavailable` needs its zero).
    userinfo: [AtomicU64; USERINFO_OUTCOMES.len()],
    proxy: BTreeMap<String, [Histogram; CLASSES.len()]>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Metrics {
    /// A registry with proxy histograms for these upstreams (the configured API names; the proxy forwards to
    /// no other).
    pub fn new<'a>(upstreams: impl IntoIterator<Item = &'a str>) -> Metrics {
        Metrics {
            proxy: upstreams
                .into_iter()
                .map(|name| (name.to_owned(), Default::default()))
                .collect(),
            ..Metrics::default()
        }
    }

    /// A completed (`reason` = "ok") or refused login, by the rule or error code that refused it.
    pub fn login(&self, outcome: &'static str, reason: &'static str) {
        *lock(&self.logins).entry((outcome, reason)).or_default() += 1;
    }

    /// A refresh attempt: `ok`, `refused` (session ended) or `error` (OP unreachable).
    pub fn refresh(&self, outcome: &'static str) {
        *lock(&self.refreshes).entry(outcome).or_default() += 1;
    }

    /// One userinfo request (at a sign-in or a refresh), by outcome: one of [`USERINFO_OUTCOMES`].
    pub fn userinfo(&self, outcome: &'static str) {
        if let Some(i) = USERINFO_OUTCOMES.iter().position(|o| *o == outcome) {
            self.userinfo[i].fetch_add(1, Relaxed);
        }
    }

    /// One proxied call's latency, by upstream and status class (`2xx`... or `error`). An upstream or class not
    /// registered at start is not counted (the proxy only calls configured upstreams with these classes).
    pub fn proxied(&self, upstream: &str, class: &'static str, elapsed: Duration) {
        let Some(histograms) = self.proxy.get(upstream) else {
            return;
        };
        if let Some(i) = CLASSES.iter().position(|c| *c == class) {
            histograms[i].observe(elapsed);
        }
    }

    /// The Prometheus text exposition.
    pub fn render(&self, active_sessions: Option<usize>) -> String {
        let mut out = String::new();
        out.push_str(
            "# HELP bff_logins_total Logins by outcome and the rule or error that decided it.\n",
        );
        out.push_str("# TYPE bff_logins_total counter\n");
        for ((outcome, reason), n) in lock(&self.logins).iter() {
            let _ = writeln!(
                out,
                "bff_logins_total{{outcome=\"{outcome}\",reason=\"{reason}\"}} {n}"
            );
        }
        out.push_str("# HELP bff_refreshes_total Access-token refreshes by outcome.\n");
        out.push_str("# TYPE bff_refreshes_total counter\n");
        for (outcome, n) in lock(&self.refreshes).iter() {
            let _ = writeln!(out, "bff_refreshes_total{{outcome=\"{outcome}\"}} {n}");
        }
        out.push_str(
            "# HELP bff_userinfo_total Userinfo requests by outcome (ok, refused, unavailable).\n",
        );
        out.push_str("# TYPE bff_userinfo_total counter\n");
        for (outcome, n) in USERINFO_OUTCOMES.iter().zip(&self.userinfo) {
            let n = n.load(Relaxed);
            let _ = writeln!(out, "bff_userinfo_total{{outcome=\"{outcome}\"}} {n}");
        }
        out.push_str("# HELP bff_proxy_duration_seconds Time to the upstream's response head, by upstream.\n");
        out.push_str("# TYPE bff_proxy_duration_seconds histogram\n");
        for (upstream, histograms) in &self.proxy {
            for (class, h) in CLASSES.iter().zip(histograms) {
                let counts: Vec<u64> = h.counts.iter().map(|c| c.load(Relaxed)).collect();
                let count: u64 = counts.iter().sum();
                // Only series that have seen a call, as a registry filled on first use would show.
                if count == 0 {
                    continue;
                }
                let labels = format!("upstream=\"{upstream}\",status=\"{class}\"");
                let mut cumulative = 0;
                for (bound, n) in BUCKETS.iter().zip(&counts) {
                    cumulative += n;
                    let _ = writeln!(
                        out,
                        "bff_proxy_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {cumulative}"
                    );
                }
                let _ = writeln!(
                    out,
                    "bff_proxy_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {count}"
                );
                let sum = h.sum_nanos.load(Relaxed) as f64 / 1e9;
                let _ = writeln!(out, "bff_proxy_duration_seconds_sum{{{labels}}} {sum}");
                let _ = writeln!(out, "bff_proxy_duration_seconds_count{{{labels}}} {count}");
            }
        }
        if let Some(n) = active_sessions {
            out.push_str("# HELP bff_active_sessions Sessions currently held by this store.\n");
            out.push_str("# TYPE bff_active_sessions gauge\n");
            let _ = writeln!(out, "bff_active_sessions {n}");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_cumulative_buckets() {
        let m = Metrics::new(["demo", "other"]);
        m.login("refused", "c_hash_mismatch");
        m.login("ok", "ok");
        m.proxied("demo", "2xx", Duration::from_millis(3));
        let text = m.render(Some(1));
        assert!(text.contains("bff_logins_total{outcome=\"refused\",reason=\"c_hash_mismatch\"} 1"));
        assert!(text.contains(
            "bff_proxy_duration_seconds_bucket{upstream=\"demo\",status=\"2xx\",le=\"0.0025\"} 0"
        ));
        assert!(text.contains(
            "bff_proxy_duration_seconds_bucket{upstream=\"demo\",status=\"2xx\",le=\"0.005\"} 1"
        ));
        assert!(
            text.contains("bff_proxy_duration_seconds_count{upstream=\"demo\",status=\"2xx\"} 1")
        );
        assert!(text.contains("bff_active_sessions 1"));
        // Userinfo outcomes are there from the start, at zero.
        assert!(text.contains("bff_userinfo_total{outcome=\"unavailable\"} 0\n"));
        m.userinfo("unavailable");
        m.userinfo("not-an-outcome");
        let text = m.render(None);
        assert!(text.contains("bff_userinfo_total{outcome=\"unavailable\"} 1\n"));
        assert!(text.contains("bff_userinfo_total{outcome=\"ok\"} 0\n"));
        // Registered but never called, or never registered: no series.
        assert!(!text.contains("upstream=\"other\""));
        m.proxied("unknown", "2xx", Duration::from_millis(3));
        assert!(!m.render(None).contains("unknown"));
    }

    #[test]
    fn a_call_past_the_last_bound_counts_only_in_inf_and_the_sum() {
        let m = Metrics::new(["demo"]);
        m.proxied("demo", "5xx", Duration::from_secs(11));
        m.proxied("demo", "5xx", Duration::from_millis(500));
        let text = m.render(None);
        let labels = "upstream=\"demo\",status=\"5xx\"";
        assert!(text.contains(&format!(
            "bff_proxy_duration_seconds_bucket{{{labels},le=\"0.25\"}} 0\n"
        )));
        assert!(text.contains(&format!(
            "bff_proxy_duration_seconds_bucket{{{labels},le=\"0.5\"}} 1\n"
        )));
        assert!(text.contains(&format!(
            "bff_proxy_duration_seconds_bucket{{{labels},le=\"10\"}} 1\n"
        )));
        assert!(text.contains(&format!(
            "bff_proxy_duration_seconds_bucket{{{labels},le=\"+Inf\"}} 2\n"
        )));
        assert!(text.contains(&format!(
            "bff_proxy_duration_seconds_sum{{{labels}}} 11.5\n"
        )));
        assert!(text.contains(&format!("bff_proxy_duration_seconds_count{{{labels}}} 2\n")));
    }
}
