//! The end-to-end suite as one test binary (as ripgrep and cargo do): each module is one area, run against real
//! pieces (the dev OP, the demo API, the BFF, headless Chromium, Redis, nginx, glewlwyd) started by the harness
//! in `tests/src`. One binary links the BFF, reqwest, fantoccini and the crypto stacks once instead of once per
//! file, which is most of the suite's build time. `cargo test -p hybrid-e2e --test e2e MODULE::` runs one area.

mod auth0_shaped;
mod backchannel;
mod bff_flow;
mod browser_login;
mod browser_logout;
mod conformance;
mod conformance_browser;
mod consent;
mod deploy_nginx;
mod discovery;
mod dpop;
mod faults;
mod interop_glewlwyd;
mod jwks_cache;
mod load;
mod no_store;
mod op_userinfo;
mod par;
mod pending_logins;
mod private_key_jwt;
mod proxy;
mod redis_cache;
mod redis_cluster;
mod redis_tls;
mod refresh;
mod replicas_nginx;
mod security_probes;
mod session_stores;
mod single_binary;
mod slow_clients;
mod spa_errors;
mod spa_product;
mod upstream_tokens;
mod userinfo;
mod userinfo_browser;
