use crate::session::{Retry, Session};
use leptos::prelude::*;

/// The current problem, if any, in plain words, what it means, and a way to try again.
#[component]
pub fn Alert(session: Session) -> impl IntoView {
    move || {
        session.problem.get().map(|problem| {
            let hint = hint(&problem.code);
            let retry = session.retry.get().map(|retry| {
                let label = match retry {
                    Retry::LogIn => "Sign in again",
                    Retry::CheckSession | Retry::CallApi => "Try again",
                };
                view! {
                    <button class="retry" data-testid="retry" on:click=move |_| session.retry_now()>
                        {label}
                    </button>
                }
            });
            // A failure can come from a button far down the page (the API console): bring it into view, or
            // the person sees nothing happen.
            let shown = NodeRef::<leptos::html::Div>::new();
            shown.on_load(|div| {
                // After this frame's layout: when the ref loads, the element may not be in the document yet.
                request_animation_frame(move || {
                    let options = web_sys::ScrollIntoViewOptions::new();
                    options.set_block(web_sys::ScrollLogicalPosition::Nearest);
                    div.scroll_into_view_with_scroll_into_view_options(&options);
                });
            });
            view! {
                <div class="alert" role="alert" data-testid="error" data-error=problem.code node_ref=shown>
                    <p>{problem.message}</p>
                    {hint.map(|h| view! { <p class="hint">{h}</p> })}
                    {retry}
                </div>
            }
        })
    }
}

/// What a kind of failure means for the person in front of the page.
pub fn hint(code: &str) -> Option<&'static str> {
    Some(match code {
        "op_error" => "The identity provider ended the sign-in (for example, it was declined). Nothing was signed in.",
        "no_pending_login" | "state_missing" | "state_mismatch" | "login_cookie_invalid"
        | "login_expired" | "login_already_used" => {
            "This browser has no matching sign-in in progress (it expired, was already used, or began in another tab). Start a new one."
        }
        "unreachable" | "timeout" | "jwks_unreachable" => {
            "A server did not answer. Check the connection; nothing was changed."
        }
        "session_gone" | "unauthenticated" | "no_session" | "session_expired" => {
            "The session has ended (expired, or signed out elsewhere)."
        }
        "iss_parameter_mismatch" | "iss_parameter_missing" | "malformed_token" | "alg_none" | "alg_hmac_rejected"
        | "alg_not_allowed" | "crit_unsupported" | "unknown_kid" | "no_usable_key"
        | "bad_signature" | "bad_jwks" | "malformed_claims" | "iss_mismatch" | "sub_missing"
        | "aud_mismatch" | "aud_untrusted" | "azp_mismatch" | "exp_missing" | "expired"
        | "iat_missing" | "iat_in_future" | "nonce_missing" | "nonce_mismatch"
        | "c_hash_missing" | "c_hash_mismatch" | "at_hash_missing" | "at_hash_mismatch"
        | "code_missing" | "id_token_missing" | "access_token_missing" | "token_type_invalid"
        | "malformed_response" | "duplicate_parameter" | "too_large" => {
            "The response from the identity provider failed a security check in this browser, so the code was never sent to the server. The flow view below shows which check."
        }
        _ => return None,
    })
}
