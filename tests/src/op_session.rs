//! A browser at the dev OP that keeps its OP cookies across calls: log in (the redirect chain of
//! [`crate::authorize::authorize_at_op`]), then end that OP session by RP-initiated logout, which makes the OP
//! send back-channel logout tokens to the clients of the session.

use crate::authorize::{follow_to_redirect_uri, html_attribute as attribute};
use reqwest::Client;
use url::Url;

/// One browser's cookie jar at the OP.
pub struct OpBrowser {
    http: Client,
}

impl Default for OpBrowser {
    fn default() -> Self {
        OpBrowser::new()
    }
}

impl OpBrowser {
    pub fn new() -> OpBrowser {
        let http = Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        OpBrowser { http }
    }

    /// Follows the OP's redirects (auto-login mode, its consent page approved when shown) until it redirects to
    /// `redirect_uri`; returns that URL's fragment. The OP session cookie stays in this browser.
    pub async fn authorize(&self, authorization_url: &str, redirect_uri: &str) -> String {
        follow_to_redirect_uri(&self.http, authorization_url, redirect_uri).await
    }

    /// RP-initiated logout at the OP, as a browser does it: `GET /session/end` with the hint, then the confirm
    /// form posted with its `xsrf` and `logout=yes`. The OP sends its back-channel logout tokens before it
    /// answers the confirmation. Returns the confirmation's status (a redirect to `post_logout_redirect_uri`).
    pub async fn end_session(
        &self,
        issuer: &str,
        id_token_hint: &str,
        post_logout_redirect_uri: &str,
    ) -> u16 {
        let mut url = Url::parse(&format!("{issuer}/session/end")).expect("end-session URL");
        url.query_pairs_mut()
            .append_pair("id_token_hint", id_token_hint)
            .append_pair("post_logout_redirect_uri", post_logout_redirect_uri)
            .append_pair("state", "bc-test");
        let r = self
            .http
            .get(url.clone())
            .send()
            .await
            .expect("OP reachable");
        assert_eq!(r.status(), 200, "the OP shows its logout form");
        let page = r.text().await.expect("logout page");
        let form = page
            .find("<form")
            .map(|i| &page[i..])
            .expect("a logout form");
        let form = &form[..form.find("</form>").expect("the form ends")];
        let action = attribute(form, "action").expect("the form has an action");
        let mut fields: Vec<(String, String)> = Vec::new();
        for input in form.split("<input").skip(1) {
            let input = &input[..input.find('>').unwrap_or(input.len())];
            if let (Some(name), Some(value)) = (attribute(input, "name"), attribute(input, "value"))
            {
                fields.push((name, value));
            }
        }
        if !fields.iter().any(|(n, _)| n == "logout") {
            fields.push(("logout".into(), "yes".into()));
        }
        assert!(
            fields.iter().any(|(n, _)| n == "xsrf"),
            "the form has an xsrf field"
        );
        let confirm = url.join(&action).expect("the action is a URL");
        let r = self
            .http
            .post(confirm)
            .form(&fields)
            .send()
            .await
            .expect("OP reachable");
        r.status().as_u16()
    }
}
