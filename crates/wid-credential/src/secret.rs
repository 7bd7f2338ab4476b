//! The client's secrets (client secret, assertion, access token) are
//! [`wid_model::secret::SharedSecret`]s: they never print, and handing a cached token out
//! costs a reference count.

/// A secret the client holds; see [`wid_model::secret::Secret`].
pub type Secret = wid_model::secret::SharedSecret;
