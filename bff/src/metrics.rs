//! Prometheus metrics, hand-rolled: a few counters and one histogram do not justify a metrics framework, and
//! the text format (version 0.0.4) is simple and stable.
//!
//! Labels are fixed, low-cardinality values (rule names, outcomes, configured API names), never user input.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds (seconds) of the proxy latency buckets.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

#[derive(Default, Clone)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// The BFF's metrics registry, shared through the app state.
#[derive(Default)]
pub struct Metrics {
    logins: Mutex<BTreeMap<(&'static str, &'static str), u64>>,
    refreshes: Mutex<BTreeMap<&'static str, u64>>,
    proxy: Mutex<BTreeMap<(String, &'static str), Histogram>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Metrics {
    /// A completed (`reason` = "ok") or refused login, by the rule or error code that refused it.
    pub fn login(&self, outcome: &'static str, reason: &'static str) {
        *lock(&self.logins).entry((outcome, reason)).or_default() += 1;
    }

    /// A refresh attempt: `ok`, `refused` (session ended) or `error` (OP unreachable).
    pub fn refresh(&self, outcome: &'static str) {
        *lock(&self.refreshes).entry(outcome).or_default() += 1;
    }

    /// One proxied call's latency, by upstream and status class (`2xx`... or `error`).
    pub fn proxied(&self, upstream: &str, class: &'static str, elapsed: Duration) {
        let mut map = lock(&self.proxy);
        let h = map.entry((upstream.to_owned(), class)).or_default();
        let secs = elapsed.as_secs_f64();
        for (i, bound) in BUCKETS.iter().enumerate() {
            if secs <= *bound {
                h.counts[i] += 1;
            }
        }
        h.count += 1;
        h.sum += secs;
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
        out.push_str("# HELP bff_proxy_duration_seconds Time to the upstream's response head, by upstream.\n");
        out.push_str("# TYPE bff_proxy_duration_seconds histogram\n");
        for ((upstream, class), h) in lock(&self.proxy).iter() {
            let labels = format!("upstream=\"{upstream}\",status=\"{class}\"");
            for (bound, n) in BUCKETS.iter().zip(h.counts) {
                let _ = writeln!(
                    out,
                    "bff_proxy_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {n}"
                );
            }
            let _ = writeln!(
                out,
                "bff_proxy_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(out, "bff_proxy_duration_seconds_sum{{{labels}}} {}", h.sum);
            let _ = writeln!(
                out,
                "bff_proxy_duration_seconds_count{{{labels}}} {}",
                h.count
            );
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
        let m = Metrics::default();
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
    }
}
