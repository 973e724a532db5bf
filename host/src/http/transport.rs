//! How a request reached the server: the protocol and, over TLS, its
//! version. Every request carries it as an extension, set by the listener,
//! so the scheme an app sees (`wsgi.url_scheme`, ASGI `scheme`), sessions'
//! `secure = "auto"` and the access log follow the connection itself, never
//! what the client claims (`:scheme`, an absolute-form target).

/// The connection a request came on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Transport {
    /// The TLS version ("TLSv1.3"), or None for plain TCP.
    pub tls: Option<&'static str>,
}

impl Transport {
    /// Plain TCP.
    pub const PLAIN: Self = Self { tls: None };

    /// The transport `request` came on (plain when the listener said nothing).
    pub fn of<B>(request: &http::Request<B>) -> Self {
        Self::of_extensions(request.extensions())
    }

    /// The transport told by a request's extensions.
    pub fn of_extensions(extensions: &http::Extensions) -> Self {
        extensions.get::<Self>().copied().unwrap_or_default()
    }

    /// "https" over TLS, else "http".
    pub fn scheme(self) -> &'static str {
        if self.tls.is_some() { "https" } else { "http" }
    }
}
