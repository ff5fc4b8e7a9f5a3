use crate::session::Session;
use leptos::prelude::*;

/// Who is signed in: name, email and subject, once known.
#[component]
pub fn UserCard(session: Session) -> impl IntoView {
    move || {
        session.user.get().map(|user| {
            let name = user.display_name().to_owned();
            let email = user.email.clone().map(|email| {
                let verified =
                    user.email_verified
                        .map(|v| if v { " (verified)" } else { " (not verified)" });
                view! {
                    <dt>"Email"</dt>
                    <dd data-testid="user-email">{email}{verified.unwrap_or_default()}</dd>
                }
            });
            view! {
                <section class="user">
                    <p class="name" data-testid="user-name">{name}</p>
                    <dl>
                        {email}
                        <dt>"Subject"</dt>
                        <dd data-testid="user-sub"><code>{user.sub}</code></dd>
                    </dl>
                </section>
            }
        })
    }
}
