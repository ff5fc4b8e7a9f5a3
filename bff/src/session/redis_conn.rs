//! Where the Redis store's data lives: one server (`session.redis_url`) or a Redis Cluster
//! (`session.redis_cluster`, a list of seed nodes), behind one connection type, so the store's commands,
//! scripts and transactions are written once for both.
//!
//! On a cluster every key of the store carries one hash tag (see [`RedisTarget::key_prefix`]): the store's
//! scripts and `MULTI` blocks touch a session, the `all` set and the back-channel logout indexes together, and
//! Redis runs those only when every key is in one slot. The tagged invalidation channel routes to that slot's
//! master too (redis-rs routes `PUBLISH` by its channel), which is where every replica subscribes, so the
//! count `PUBLISH` answers is the number of replicas that heard it, as on one server.

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig, PubSub};
use redis::cluster::{ClusterClient, ClusterClientBuilder};
use redis::cluster_async::ClusterConnection;
use redis::cluster_routing::{Route, RoutingInfo, SingleNodeRoutingInfo, SlotAddr};
use redis::{
    Cmd, ConnectionAddr, ConnectionInfo, ErrorKind, IntoConnectionInfo, RedisError, RedisFuture,
    RedisResult, ServerErrorKind, TlsCertificates, Value,
};
use std::sync::Arc;
use std::time::Duration;

/// How long a connection attempt and a command may take before the store reports Redis unavailable.
const TIMEOUT: Duration = Duration::from_secs(2);

/// One Redis server or a cluster's seed nodes, with what a connection to either needs.
pub enum RedisTarget {
    Single(redis::Client),
    Cluster {
        seeds: Vec<ConnectionInfo>,
        certs: Option<TlsCertificates>,
    },
}

impl RedisTarget {
    /// One server at `url` (`redis://host:port/db`, `rediss://`, `unix://`).
    pub fn single(url: &str) -> RedisResult<RedisTarget> {
        Ok(RedisTarget::Single(redis::Client::open(url)?))
    }

    /// A cluster found through `urls` (any of its nodes; the rest is discovered).
    pub fn cluster<S: AsRef<str>>(urls: &[S]) -> RedisResult<RedisTarget> {
        let seeds = urls
            .iter()
            .map(|u| u.as_ref().into_connection_info())
            .collect::<RedisResult<Vec<_>>>()?;
        Ok(RedisTarget::Cluster { seeds, certs: None })
    }

    /// Trusts the CA in `pem` for the server certificates instead of the system's roots (`rediss://`).
    pub fn trust_root_ca(self, pem: Vec<u8>) -> RedisResult<RedisTarget> {
        let certs = TlsCertificates {
            client_tls: None,
            root_cert: Some(pem),
        };
        Ok(match self {
            RedisTarget::Single(client) => RedisTarget::Single(redis::Client::build_with_tls(
                client.get_connection_info().clone(),
                certs,
            )?),
            RedisTarget::Cluster { seeds, .. } => RedisTarget::Cluster {
                seeds,
                certs: Some(certs),
            },
        })
    }

    /// The prefix every key and channel of the store starts with. On a cluster it holds a hash tag (the
    /// operator's own, or the whole prefix made one), so all of them share one slot whatever the operator
    /// wrote; on one server it is left as configured, so existing keys keep their names.
    pub fn key_prefix(&self, prefix: &str) -> String {
        match self {
            RedisTarget::Single(_) => prefix.to_owned(),
            RedisTarget::Cluster { .. } => cluster_prefix(prefix),
        }
    }

    /// A connection that re-connects by itself after a failure (and, on a cluster, follows failovers and
    /// slot moves), every command bounded by [`TIMEOUT`]. `slot_key` is any key in the store's slot.
    pub async fn connect(&self, slot_key: &str) -> RedisResult<Conn> {
        match self {
            RedisTarget::Single(client) => {
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(TIMEOUT))
                    .set_response_timeout(Some(TIMEOUT))
                    .set_number_of_retries(1);
                let conn = ConnectionManager::new_with_config(client.clone(), config).await?;
                Ok(Conn::Single(conn))
            }
            RedisTarget::Cluster { .. } => {
                let conn = self.cluster_client()?.get_async_connection().await?;
                Ok(Conn::Cluster(conn, Arc::from(slot_key)))
            }
        }
    }

    fn cluster_client(&self) -> RedisResult<ClusterClient> {
        let RedisTarget::Cluster { seeds, certs } = self else {
            unreachable!("only called for a cluster")
        };
        let mut builder = ClusterClientBuilder::new(seeds.clone())
            .connection_timeout(TIMEOUT)
            .response_timeout(TIMEOUT);
        if let Some(certs) = certs {
            builder = builder.certs(certs.clone());
        }
        builder.build()
    }

    /// A pub/sub connection subscribed to `channels`, on the node that serves their slot: the one server, or
    /// the master of the slot on a cluster (found through `conn`), where the store's writes publish.
    pub async fn subscribe(&self, conn: &Conn, channels: &[String]) -> RedisResult<PubSub> {
        let client = match (self, conn) {
            (RedisTarget::Single(client), _) => client.clone(),
            (RedisTarget::Cluster { seeds, certs }, Conn::Cluster(cluster, _)) => {
                let (host, port) = slot_master(cluster.clone(), &channels[0]).await?;
                let info = seeds[0]
                    .clone()
                    .set_addr(node_addr(seeds[0].addr(), host, port));
                match certs {
                    Some(certs) => redis::Client::build_with_tls(info, certs.clone())?,
                    None => redis::Client::open(info)?,
                }
            }
            (RedisTarget::Cluster { .. }, Conn::Single(_)) => {
                unreachable!("a cluster target makes cluster connections")
            }
        };
        let mut pubsub = client.get_async_pubsub().await?;
        for channel in channels {
            pubsub.subscribe(channel).await?;
        }
        Ok(pubsub)
    }
}

/// `prefix` itself if it already holds a hash tag (a non-empty `{…}`, as Redis reads one), else the whole
/// prefix as the tag.
pub fn cluster_prefix(prefix: &str) -> String {
    let tagged = prefix
        .find('{')
        .and_then(|open| prefix[open + 1..].find('}'))
        .is_some_and(|len| len > 0);
    if tagged {
        prefix.to_owned()
    } else {
        format!("{{{prefix}}}")
    }
}

/// The address of `seed` with another host and port, keeping its TLS settings.
fn node_addr(seed: &ConnectionAddr, host: String, port: u16) -> ConnectionAddr {
    match seed {
        ConnectionAddr::TcpTls {
            insecure,
            tls_params,
            ..
        } => ConnectionAddr::TcpTls {
            host,
            port,
            insecure: *insecure,
            tls_params: tls_params.clone(),
        },
        _ => ConnectionAddr::Tcp(host, port),
    }
}

/// The announced address of the master serving `key`'s slot, as that master itself answers
/// `CLUSTER SLOTS` (the command goes to the node the cluster connection routes `key` to).
async fn slot_master(mut cluster: ClusterConnection, key: &str) -> RedisResult<(String, u16)> {
    let slot: i64 = redis::cmd("CLUSTER")
        .arg("KEYSLOT")
        .arg(key)
        .query_async(&mut cluster)
        .await?;
    let route = RoutingInfo::SingleNode(SingleNodeRoutingInfo::SpecificNode(Route::with_key(
        key,
        SlotAddr::Master,
    )));
    let mut slots = redis::cmd("CLUSTER");
    slots.arg("SLOTS");
    let answer = cluster.route_command(slots, route).await?;
    let ranges: Vec<Vec<Value>> = redis::from_redis_value(answer)?;
    for range in ranges {
        let (Some(start), Some(end), Some(master)) = (range.first(), range.get(1), range.get(2))
        else {
            continue;
        };
        let (start, end): (i64, i64) = (
            redis::from_redis_value_ref(start)?,
            redis::from_redis_value_ref(end)?,
        );
        if (start..=end).contains(&slot) {
            let node: Vec<Value> = redis::from_redis_value_ref(master)?;
            if let (Some(host), Some(port)) = (node.first(), node.get(1)) {
                let host: String = redis::from_redis_value_ref(host)?;
                let port: u16 = redis::from_redis_value_ref(port)?;
                if !host.is_empty() {
                    return Ok((host, port));
                }
            }
        }
    }
    Err(RedisError::from((
        redis::ErrorKind::Client,
        "no master announced for the session store's slot",
    )))
}

/// The store's connection: to one server, or to a cluster (routed by key; with a key in the store's slot).
#[derive(Clone)]
pub enum Conn {
    Single(ConnectionManager),
    Cluster(ClusterConnection, Arc<str>),
}

/// Where the slot went, if `e` is a `MULTI` block the server refused whole because its slot has moved (a
/// failover): none of it ran, so it may be sent there.
fn moved_transaction(e: &RedisError) -> Option<SingleNodeRoutingInfo> {
    if e.kind() != ErrorKind::Server(ServerErrorKind::ExecAbort) {
        return None;
    }
    let errors = e.clone().into_server_errors()?;
    errors.iter().find_map(|(_, e)| {
        if !matches!(
            e.kind(),
            Some(ServerErrorKind::Moved | ServerErrorKind::Ask)
        ) {
            return None;
        }
        // `<slot> <host>:<port>`
        let (_, addr) = e.details()?.split_once(' ')?;
        let (host, port) = addr.rsplit_once(':')?;
        Some(SingleNodeRoutingInfo::ByAddress {
            host: host.to_owned(),
            port: port.parse().ok()?,
        })
    })
}

impl ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Conn::Single(c) => c.req_packed_command(cmd),
            Conn::Cluster(c, _) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a redis::Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Conn::Single(c) => c.req_packed_commands(pipeline, offset, count),
            // redis-rs follows a redirect for a single command, not for a transaction: after a failover a
            // `MULTI` can reach a node that no longer serves the slot and come back refused whole. It is
            // sent once more to the node the refusal names; a plain command on the slot meanwhile teaches
            // the client the new slot map for the calls after it.
            Conn::Cluster(c, slot_key) => Box::pin(async move {
                match c.req_packed_commands(pipeline, offset, count).await {
                    Err(e) if pipeline.is_transaction() => {
                        let Some(node) = moved_transaction(&e) else {
                            return Err(e);
                        };
                        let _ = redis::cmd("EXISTS")
                            .arg(&**slot_key)
                            .query_async::<Value>(c)
                            .await;
                        c.route_pipeline(pipeline.clone(), offset, count, node)
                            .await
                    }
                    answer => answer,
                }
            }),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Conn::Single(c) => c.get_db(),
            Conn::Cluster(c, _) => c.get_db(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::cluster_prefix;

    #[test]
    fn a_cluster_prefix_always_holds_one_hash_tag() {
        assert_eq!(cluster_prefix("bff:"), "{bff:}");
        assert_eq!(cluster_prefix("{app}:bff:"), "{app}:bff:");
        assert_eq!(cluster_prefix("app:{bff}:"), "app:{bff}:");
        // An empty tag is no tag to Redis (the whole key is hashed): wrapped.
        assert_eq!(cluster_prefix("{}bff:"), "{{}bff:}");
        assert_eq!(cluster_prefix("a{b"), "{a{b}");
    }
}
