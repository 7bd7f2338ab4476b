//! The page frame: head, top navigation, sign-out, main landmark.

use maud::{DOCTYPE, Markup, html};

use crate::session::{CSRF_FIELD, Signed};

/// The sections of the top navigation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    /// Admin > Connections.
    Connections,
    /// Managed identities.
    Identities,
    /// Deployments.
    Deployments,
}

fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            title { (title) " · wid" }
            link rel="stylesheet" href="/_ui/app.css";
            script src="/_ui/app.js" defer {}
        }
    }
}

/// A page for a signed-in user.
pub fn page(title: &str, section: Section, signed: &Signed, content: Markup) -> Markup {
    let nav = [
        (Section::Connections, "/connections", "Connections"),
        (Section::Identities, "/identities", "Identities"),
        (Section::Deployments, "/deployments", "Deployments"),
    ];
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body {
                a.skip href="#main" { "Skip to content" }
                header.top {
                    span.brand { "wid" }
                    nav aria-label="Main" {
                        @for (s, href, label) in nav {
                            @if s == section {
                                a href=(href) aria-current="page" { (label) }
                            } @else {
                                a href=(href) { (label) }
                            }
                        }
                    }
                    @if !signed.session.admin { span.badge { "read-only" } }
                    form method="post" action="/signout" {
                        input type="hidden" name=(CSRF_FIELD) value=(signed.session.csrf);
                        button type="submit" { "Sign out" }
                    }
                }
                main #main { (content) }
            }
        }
    }
}

/// A page without navigation (sign-in, errors).
pub fn bare(title: &str, content: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body {
                header.top { span.brand { "wid" } }
                main #main { (content) }
            }
        }
    }
}
