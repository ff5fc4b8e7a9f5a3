//! The memory store's form of a session ([`Packed`]): the whole session in one allocation, every string at its
//! exact length, instead of a struct of about twenty heap blocks, each with the allocator's header and rounding
//! and a `String`'s spare capacity. At 100k sessions this keeps the store within about 400 bytes of the tokens'
//! own size (BENCHMARKS.md §4).
//!
//! Packing is private to this process (nothing packed is ever stored elsewhere or read by another version), so
//! the layout can change freely. In order: `created_at` and `last_seen` (fixed 8 bytes each, read by the expiry
//! sweep without unpacking), then issuer, sid and sub (read by back-channel logout without unpacking), the
//! tokens, the rest of the user (or one byte saying it is the one derived from the claims, as every sign-in
//! and refresh makes it), the upstream tokens, the claims, the userinfo report and the DPoP key (as the JSON the
//! sealed stores keep).

use super::model::{logout_matches, Session, UpstreamToken};
use allocator_api2::alloc::System;
use shared::api::{Claim, ClaimSource, User, UserinfoReport, UserinfoStatus};
use shared::json;
use shared::verify::userinfo::user_of;
use std::collections::BTreeMap;

/// One session as the memory store keeps it: see the module documentation.
///
/// The block comes from the system allocator (glibc's malloc), not the binary's global one (mimalloc,
/// `main.rs`), which serves the short-lived allocations of each request fast by rounding every block up to a
/// size class: 256-byte steps between 1 and 2 KiB, so a packed session of 1.8 to 1.9 KB (the dev OP's tokens)
/// took a 2 KiB block, about 125 bytes more per session (BENCHMARKS.md §4). glibc rounds to 16 bytes, and a
/// session's block is allocated only when the session is written (sign-in, refresh, the last-seen time at most
/// once a minute), never per proxied call.
pub struct Packed(allocator_api2::boxed::Box<[u8], System>);

/// A packed session that does not unpack. [`Packed::new`] never makes one, so this is a bug; the store reports
/// it as its error (503) instead of panicking.
#[derive(Debug, thiserror::Error)]
#[error("a session in the memory store does not unpack")]
pub struct Corrupt;

/// The byte after the sub and tokens: the user is the one [`user_of`] derives from the claims.
const USER_FROM_CLAIMS: u8 = 0;
/// ...or it follows, field by field.
const USER_FOLLOWS: u8 = 1;

impl Packed {
    /// Packs `session`.
    pub fn new(session: &Session) -> Packed {
        let mut w = Writer(Vec::with_capacity(packed_len_hint(session)));
        w.i64(session.created_at);
        w.i64(session.last_seen);
        w.str(&session.issuer);
        w.opt_str(session.sid.as_deref());
        w.str(&session.user.sub);
        w.str(&session.id_token);
        w.str(&session.access_token);
        w.opt_i64(session.access_token_expires_at);
        w.opt_str(session.refresh_token.as_deref());
        if !session.claims.is_empty() && user_of(&session.claims) == session.user {
            w.u8(USER_FROM_CLAIMS);
        } else {
            w.u8(USER_FOLLOWS);
            let user = &session.user;
            w.opt_str(user.name.as_deref());
            w.opt_str(user.preferred_username.as_deref());
            w.opt_str(user.email.as_deref());
            w.u8(match user.email_verified {
                None => 0,
                Some(false) => 1,
                Some(true) => 2,
            });
        }
        w.len(session.upstream_tokens.len());
        for (name, token) in &session.upstream_tokens {
            w.str(name);
            w.str(&token.access_token);
            w.opt_i64(token.expires_at);
            w.u8(u8::from(token.bearer));
        }
        w.len(session.claims.len());
        for claim in &session.claims {
            w.str(&claim.name);
            w.u8(match claim.source {
                ClaimSource::IdToken => 0,
                ClaimSource::Userinfo => 1,
            });
            w.value(&claim.value);
        }
        let report = &session.userinfo;
        w.str(&status_name(report.status));
        w.opt_str(report.reason.as_deref());
        match report.elapsed_ms {
            None => w.u8(0),
            Some(ms) => {
                w.u8(1);
                w.varint(ms);
            }
        }
        w.u8(u8::from(report.signed));
        let key = session
            .dpop_key
            .as_ref()
            .map(|k| serde_json::to_string(k).expect("a DPoP key serialises"));
        w.opt_str(key.as_deref());
        // Copied into a block of the exact size rather than shrunk in place: glibc's realloc leaves the cut-off
        // tail as a hole between long-lived blocks, which cost 900 bytes per session at 100k (measured).
        Packed(w.0.as_slice().into())
    }

    /// The session again.
    pub fn unpack(&self) -> Result<Session, Corrupt> {
        let mut r = Reader(&self.0);
        let created_at = r.i64()?;
        let last_seen = r.i64()?;
        let issuer = r.str()?.to_owned();
        let sid = r.opt_str()?.map(str::to_owned);
        let sub = r.str()?.to_owned();
        let id_token = r.str()?.to_owned();
        let access_token = r.str()?.to_owned();
        let access_token_expires_at = r.opt_i64()?;
        let refresh_token = r.opt_str()?.map(str::to_owned);
        let user_fields = match r.u8()? {
            USER_FROM_CLAIMS => None,
            USER_FOLLOWS => Some(User {
                sub: sub.clone(),
                name: r.opt_str()?.map(str::to_owned),
                preferred_username: r.opt_str()?.map(str::to_owned),
                email: r.opt_str()?.map(str::to_owned),
                email_verified: match r.u8()? {
                    0 => None,
                    1 => Some(false),
                    2 => Some(true),
                    _ => return Err(Corrupt),
                },
            }),
            _ => return Err(Corrupt),
        };
        let mut upstream_tokens = BTreeMap::new();
        for _ in 0..r.len()? {
            let name = r.str()?.to_owned();
            let token = UpstreamToken {
                access_token: r.str()?.to_owned(),
                expires_at: r.opt_i64()?,
                bearer: match r.u8()? {
                    0 => false,
                    1 => true,
                    _ => return Err(Corrupt),
                },
            };
            upstream_tokens.insert(name, token);
        }
        let count = r.len()?;
        let mut claims = Vec::with_capacity(count);
        for _ in 0..count {
            let name = r.str()?.to_owned();
            let source = match r.u8()? {
                0 => ClaimSource::IdToken,
                1 => ClaimSource::Userinfo,
                _ => return Err(Corrupt),
            };
            let value = r.value()?;
            claims.push(Claim {
                name,
                value,
                source,
            });
        }
        let status = status_of(r.str()?)?;
        let reason = r.opt_str()?.map(str::to_owned);
        let elapsed_ms = match r.u8()? {
            0 => None,
            1 => Some(r.varint()?),
            _ => return Err(Corrupt),
        };
        let signed = match r.u8()? {
            0 => false,
            1 => true,
            _ => return Err(Corrupt),
        };
        let dpop_key = match r.opt_str()? {
            None => None,
            Some(json) => Some(serde_json::from_str(json).map_err(|_| Corrupt)?),
        };
        if !r.0.is_empty() {
            return Err(Corrupt);
        }
        let user = user_fields.unwrap_or_else(|| user_of(&claims));
        Ok(Session {
            user,
            issuer,
            sid,
            id_token,
            access_token,
            refresh_token,
            access_token_expires_at,
            created_at,
            last_seen,
            upstream_tokens,
            claims,
            userinfo: UserinfoReport {
                status,
                reason,
                elapsed_ms,
                signed,
            },
            dpop_key,
        })
    }

    /// `created_at` and `last_seen`, without unpacking (the expiry sweep reads them for every entry it passes).
    pub fn times(&self) -> Result<(i64, i64), Corrupt> {
        let mut r = Reader(&self.0);
        Ok((r.i64()?, r.i64()?))
    }

    /// [`Session::matches_logout`], without unpacking (back-channel logout reads every session).
    pub fn matches_logout(
        &self,
        issuer: &str,
        sid: Option<&str>,
        sub: Option<&str>,
    ) -> Result<bool, Corrupt> {
        let mut r = Reader(&self.0);
        r.i64()?;
        r.i64()?;
        let (own_issuer, own_sid, own_sub) = (r.str()?, r.opt_str()?, r.str()?);
        Ok(logout_matches(
            (own_issuer, own_sid, own_sub),
            issuer,
            sid,
            sub,
        ))
    }

    /// The bytes held (for tests of the layout's size).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.0.len()
    }
}

/// Room for the strings and a little more, so that packing grows its buffer at most once.
fn packed_len_hint(session: &Session) -> usize {
    let tokens = session.id_token.len()
        + session.access_token.len()
        + session.refresh_token.as_ref().map_or(0, String::len);
    tokens + session.issuer.len() + session.sid.as_ref().map_or(0, String::len) + 256
}

/// The report status's wire name (`ok`, `off`...), so a new status needs no change here.
fn status_name(status: UserinfoStatus) -> String {
    match serde_json::to_value(status) {
        Ok(serde_json::Value::String(name)) => name,
        _ => String::new(),
    }
}

fn status_of(name: &str) -> Result<UserinfoStatus, Corrupt> {
    serde_json::from_value(serde_json::Value::String(name.to_owned())).map_err(|_| Corrupt)
}

/// How a claim's value is packed: the common kinds (strings, booleans) as they are, so that unpacking, on every
/// request, parses no JSON; anything else as JSON text.
const VALUE_JSON: u8 = 0;
const VALUE_STRING: u8 = 1;
const VALUE_FALSE: u8 = 2;
const VALUE_TRUE: u8 = 3;

/// Appends fields: integers little-endian, lengths as LEB128 varints, options as a 0/1 byte then the value.
struct Writer(Vec<u8>);

impl Writer {
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    fn i64(&mut self, v: i64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.0.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.0.push(v as u8);
    }
    fn len(&mut self, n: usize) {
        self.varint(n as u64);
    }
    fn str(&mut self, s: &str) {
        self.len(s.len());
        self.0.extend_from_slice(s.as_bytes());
    }
    fn opt_str(&mut self, s: Option<&str>) {
        match s {
            None => self.u8(0),
            Some(s) => {
                self.u8(1);
                self.str(s);
            }
        }
    }
    fn opt_i64(&mut self, v: Option<i64>) {
        match v {
            None => self.u8(0),
            Some(v) => {
                self.u8(1);
                self.i64(v);
            }
        }
    }
    fn value(&mut self, v: &json::Value) {
        match v {
            json::Value::String(s) => {
                self.u8(VALUE_STRING);
                self.str(s);
            }
            json::Value::Bool(false) => self.u8(VALUE_FALSE),
            json::Value::Bool(true) => self.u8(VALUE_TRUE),
            other => {
                self.u8(VALUE_JSON);
                let mut text = String::new();
                json::write_compact(other, &mut text);
                self.str(&text);
            }
        }
    }
}

/// Reads what [`Writer`] wrote, in the same order; anything else is [`Corrupt`].
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], Corrupt> {
        if n > self.0.len() {
            return Err(Corrupt);
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }
    fn u8(&mut self) -> Result<u8, Corrupt> {
        Ok(self.take(1)?[0])
    }
    fn i64(&mut self) -> Result<i64, Corrupt> {
        let bytes = self.take(8)?.try_into().map_err(|_| Corrupt)?;
        Ok(i64::from_le_bytes(bytes))
    }
    fn varint(&mut self) -> Result<u64, Corrupt> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.u8()?;
            v |= u64::from(byte & 0x7f) << shift;
            if byte < 0x80 {
                return Ok(v);
            }
        }
        Err(Corrupt)
    }
    fn len(&mut self) -> Result<usize, Corrupt> {
        usize::try_from(self.varint()?).map_err(|_| Corrupt)
    }
    fn str(&mut self) -> Result<&'a str, Corrupt> {
        let n = self.len()?;
        std::str::from_utf8(self.take(n)?).map_err(|_| Corrupt)
    }
    fn opt_str(&mut self) -> Result<Option<&'a str>, Corrupt> {
        match self.u8()? {
            0 => Ok(None),
            1 => self.str().map(Some),
            _ => Err(Corrupt),
        }
    }
    fn opt_i64(&mut self) -> Result<Option<i64>, Corrupt> {
        match self.u8()? {
            0 => Ok(None),
            1 => self.i64().map(Some),
            _ => Err(Corrupt),
        }
    }
    fn value(&mut self) -> Result<json::Value, Corrupt> {
        match self.u8()? {
            VALUE_STRING => Ok(json::Value::String(self.str()?.to_owned())),
            VALUE_FALSE => Ok(json::Value::Bool(false)),
            VALUE_TRUE => Ok(json::Value::Bool(true)),
            VALUE_JSON => json::parse(self.str()?.as_bytes()).map_err(|_| Corrupt),
            _ => Err(Corrupt),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Sessions compare by their serialised form (the persistent stores' view of them).
    fn same(a: &Session, b: &Session) -> bool {
        serde_json::to_value(a).unwrap() == serde_json::to_value(b).unwrap()
    }

    fn signed_in(sub: &str) -> Session {
        let mut s = Session::for_tests(1_700_000_000);
        s.user = User {
            sub: sub.into(),
            name: Some("Alice Example".into()),
            preferred_username: Some("alice".into()),
            email: Some("alice@example.test".into()),
            email_verified: Some(true),
        };
        s.claims = s.user.id_token_claims();
        s.claims.push(Claim {
            name: "address".into(),
            value: json::parse(br#"{"country": "FR", "n": [1, 2.5, null]}"#).unwrap(),
            source: ClaimSource::Userinfo,
        });
        s.sid = Some("sid-1".into());
        s.id_token = "eyJ.id.token".into();
        s.access_token = "eyJ.access.token".into();
        s.refresh_token = Some("refresh".into());
        s.access_token_expires_at = Some(1_700_000_600);
        s.upstream_tokens.insert(
            "other".into(),
            UpstreamToken {
                access_token: "eyJ.other".into(),
                expires_at: None,
                bearer: true,
            },
        );
        s.userinfo = UserinfoReport {
            status: UserinfoStatus::Unavailable,
            reason: Some("the OP's userinfo did not answer".into()),
            elapsed_ms: Some(300),
            signed: true,
        };
        s.dpop_key = Some(crate::oidc::dpop::DpopKey::generate());
        s
    }

    #[test]
    fn a_session_unpacks_as_it_was_packed() {
        let session = signed_in("alice");
        let packed = Packed::new(&session);
        assert!(same(&packed.unpack().unwrap(), &session));
        assert_eq!(packed.times().unwrap(), (1_700_000_000, 1_700_000_000));
        assert!(packed.matches_logout("op", Some("sid-1"), None).unwrap());
        assert!(!packed.matches_logout("op", Some("sid-2"), None).unwrap());
        assert!(packed.matches_logout("op", None, Some("alice")).unwrap());
    }

    #[test]
    fn a_user_other_than_the_claims_say_is_kept_as_it_is() {
        let mut session = signed_in("alice");
        session.user.name = Some("Someone Else".into());
        assert!(same(&Packed::new(&session).unpack().unwrap(), &session));
        let bare = Session::for_tests(5);
        assert!(same(&Packed::new(&bare).unpack().unwrap(), &bare));
    }

    #[test]
    fn the_strings_are_held_once_with_a_few_bytes_around_them() {
        let session = signed_in("alice");
        let key = serde_json::to_string(session.dpop_key.as_ref().unwrap()).unwrap();
        let strings = [
            &key,
            &session.issuer,
            session.sid.as_ref().unwrap(),
            &session.user.sub,
            &session.id_token,
            &session.access_token,
            session.refresh_token.as_ref().unwrap(),
        ];
        let raw: usize = strings.iter().map(|s| s.len()).sum();
        let packed = Packed::new(&session).len();
        // The user's display fields are not packed twice: they are derived from the claims again.
        assert!(packed < raw + 260, "{packed} bytes for {raw} of strings");
    }

    #[test]
    fn damaged_bytes_are_an_error_not_a_panic() {
        let bytes = Packed::new(&signed_in("alice")).0;
        for cut in 0..bytes.len() {
            assert!(
                Packed(bytes[..cut].into()).unpack().is_err(),
                "cut at {cut}"
            );
        }
        let mut longer = bytes.to_vec();
        longer.push(0);
        assert!(Packed(longer.as_slice().into()).unpack().is_err());
    }

    fn text() -> impl Strategy<Value = String> {
        "\\PC{0,12}"
    }

    proptest! {
        #[test]
        fn any_session_round_trips(
            sub in text(),
            name in proptest::option::of(text()),
            sid in proptest::option::of(text()),
            token in text(),
            exp in proptest::option::of(any::<i64>()),
            created in any::<i64>(),
            seen in any::<i64>(),
            verified in proptest::option::of(any::<bool>()),
            from_claims in any::<bool>(),
            elapsed in proptest::option::of(any::<u64>()),
        ) {
            let mut s = Session::for_tests(created);
            s.last_seen = seen;
            s.user.sub = sub;
            s.user.name = name;
            s.user.email_verified = verified;
            if from_claims {
                s.claims = s.user.id_token_claims();
            }
            s.sid = sid;
            s.access_token = token.clone();
            s.access_token_expires_at = exp;
            s.upstream_tokens.insert(token, UpstreamToken { access_token: "t".into(), expires_at: exp, bearer: exp.is_some() });
            s.userinfo.elapsed_ms = elapsed;
            let packed = Packed::new(&s);
            prop_assert!(same(&packed.unpack().unwrap(), &s));
            prop_assert_eq!(packed.times().unwrap(), (created, seen));
        }
    }
}
