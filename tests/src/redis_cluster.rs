//! A throw-away Redis Cluster: six Debian `redis-server`s with `cluster-enabled yes` on free ports of
//! 127.0.0.1 (each with its own directory under `target/redis-cluster/`, no persistence), joined by
//! `redis-cli --cluster create --cluster-replicas 1` into three masters with a replica each, stopped by PID
//! when dropped. A short node timeout makes a failover take seconds, not the default 15 s.

use crate::stack::Process;
use crate::{free_port, repo_root, wait_for};
use std::time::Duration;

/// How long a node may be unreachable before the others fail it over (milliseconds).
const NODE_TIMEOUT_MS: u32 = 1000;

struct Node {
    port: u16,
    process: Option<Process>,
}

pub struct RedisCluster {
    nodes: Vec<Node>,
}

impl RedisCluster {
    /// Starts six nodes, creates the cluster and returns once every node reports `cluster_state:ok` and
    /// every replica is in sync with its master.
    pub async fn start() -> RedisCluster {
        let mut nodes = Vec::new();
        for _ in 0..6 {
            let (port, bus) = (free_port(), free_port());
            nodes.push(Node {
                port,
                process: Some(spawn(port, bus)),
            });
        }
        for node in &nodes {
            let port = node.port;
            wait_for(
                "a cluster node to answer",
                Duration::from_secs(15),
                || async move { query(port, &["PING"]).map(drop) },
            )
            .await;
        }
        let addrs: Vec<String> = nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.port))
            .collect();
        let created = tokio::process::Command::new("redis-cli")
            .args(["--cluster", "create"])
            .args(&addrs)
            .args(["--cluster-replicas", "1", "--cluster-yes"])
            .output()
            .await
            .expect("redis-cli runs");
        assert!(
            created.status.success(),
            "redis-cli --cluster create: {}",
            String::from_utf8_lossy(&created.stdout)
        );
        let cluster = RedisCluster { nodes };
        cluster.wait_healthy().await;
        cluster
    }

    /// The node URLs, for `session.redis_cluster` (or a cluster client).
    pub fn urls(&self) -> Vec<String> {
        self.nodes
            .iter()
            .map(|n| format!("redis://127.0.0.1:{}", n.port))
            .collect()
    }

    /// `session.redis_cluster` as a TOML array.
    pub fn toml_list(&self) -> String {
        let quoted: Vec<String> = self.urls().iter().map(|u| format!("{u:?}")).collect();
        format!("[{}]", quoted.join(", "))
    }

    /// The port of the master serving `key`'s slot, as the running nodes see it.
    pub fn master_of(&self, key: &str) -> u16 {
        self.try_master_of(key).expect("a master serves the slot")
    }

    /// [`RedisCluster::master_of`], `None` while no healthy master serves the slot (during a failover).
    fn try_master_of(&self, key: &str) -> Option<u16> {
        let port = self.running()[0];
        let slot: i64 = query(port, &["CLUSTER", "KEYSLOT", key])
            .and_then(|v| redis::from_redis_value(v).ok())?;
        let nodes: String =
            query(port, &["CLUSTER", "NODES"]).and_then(|v| redis::from_redis_value(v).ok())?;
        nodes
            .lines()
            .find_map(|line| {
                let fields: Vec<&str> = line.split(' ').collect();
                let master = fields.get(2)?.split(',').any(|f| f == "master")
                    && !fields[2].contains("fail");
                let serves = fields.iter().skip(8).any(|range| {
                    let (from, to) = range.split_once('-').unwrap_or((range, range));
                    matches!((from.parse::<i64>(), to.parse::<i64>()), (Ok(a), Ok(b)) if (a..=b).contains(&slot))
                });
                (master && serves).then(|| {
                    let addr = fields[1].split('@').next()?;
                    addr.rsplit(':').next()?.parse().ok()
                })?
            })
    }

    /// Kills (SIGKILL, a crash) the master serving `key`'s slot and returns once the cluster has promoted
    /// its replica and reports `cluster_state:ok` again on every node left.
    pub async fn fail_master_of(&mut self, key: &str) -> u16 {
        let old = self.master_of(key);
        let node = self.nodes.iter_mut().find(|n| n.port == old).unwrap();
        node.process = None;
        wait_for(
            "a replica to be promoted",
            Duration::from_secs(30),
            || async {
                let ok = self.running().iter().all(|p| {
                    info_field(*p, &["CLUSTER", "INFO"], "cluster_state").as_deref() == Some("ok")
                });
                (ok && self.try_master_of(key).is_some_and(|new| new != old)).then_some(())
            },
        )
        .await;
        self.master_of(key)
    }

    fn running(&self) -> Vec<u16> {
        self.nodes
            .iter()
            .filter(|n| n.process.is_some())
            .map(|n| n.port)
            .collect()
    }

    async fn wait_healthy(&self) {
        wait_for(
            "the cluster to be ok with replicas in sync",
            Duration::from_secs(60),
            || async {
                let ready = self.running().iter().all(|p| {
                    let ok = info_field(*p, &["CLUSTER", "INFO"], "cluster_state").as_deref()
                        == Some("ok");
                    let role = info_field(*p, &["INFO", "replication"], "role");
                    let synced = role.as_deref() == Some("master")
                        || info_field(*p, &["INFO", "replication"], "master_link_status")
                            .as_deref()
                            == Some("up");
                    ok && synced
                });
                ready.then_some(())
            },
        )
        .await;
    }
}

fn spawn(port: u16, bus: u16) -> Process {
    let dir = repo_root().join(format!(
        "target/redis-cluster/{}-{port}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("node dir");
    let dir = dir.display().to_string();
    Process::spawn(
        &format!("redis-cluster-{port}"),
        "redis-server",
        &[
            "--port",
            &port.to_string(),
            "--cluster-port",
            &bus.to_string(),
            "--bind",
            "127.0.0.1",
            "--cluster-enabled",
            "yes",
            "--cluster-config-file",
            "nodes.conf",
            "--cluster-node-timeout",
            &NODE_TIMEOUT_MS.to_string(),
            "--dir",
            &dir,
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        &[],
    )
}

/// One command to one node (no cluster routing), `None` if the node does not answer.
fn query(port: u16, args: &[&str]) -> Option<redis::Value> {
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}/")).ok()?;
    let mut c = client
        .get_connection_with_timeout(Duration::from_secs(1))
        .ok()?;
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query(&mut c).ok()
}

/// `field` of an `INFO`-shaped answer (`name:value` lines) to `args`.
fn info_field(port: u16, args: &[&str], field: &str) -> Option<String> {
    let text: String = redis::from_redis_value(query(port, args)?).ok()?;
    text.lines().find_map(|l| {
        l.strip_prefix(&format!("{field}:"))
            .map(|v| v.trim().to_owned())
    })
}
