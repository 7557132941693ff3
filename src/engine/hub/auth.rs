//! A hub node's credentials: none, a bearer token, or the gateway's OAuth2 client-credentials
//! flow as the platform's `qhub-service` SDK runs it (HTTP basic auth, token cached, refreshed).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use reqwest::header::{AUTHORIZATION, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use zeroize::Zeroizing;

use super::api::{ApiError, read_capped};
use crate::secrets::Redactor;

/// The hub gateway's token endpoint (the SDK's `DEFAULT_TOKEN_ENDPOINT`).
pub(crate) const DEFAULT_TOKEN_URL: &str = "https://gateway.hub.kipu-quantum.com/token";
/// The SDK refreshes a token this long before it expires.
const REFRESH_MARGIN: Duration = Duration::from_secs(120);
/// A token response larger than this is refused.
const MAX_TOKEN_RESPONSE: usize = 64 * 1024;

/// What a hub node authenticates with. Values come from the run's secret store; they are
/// only ever in an `Authorization` header (marked sensitive) and the token request.
pub(super) enum Auth {
    None,
    Bearer(SecretString),
    Client(ClientCredentials),
}

pub(super) struct ClientCredentials {
    pub id: SecretString,
    pub secret: SecretString,
    pub token_url: String,
    /// The workflow secret the access key id comes from: the access token is redacted under
    /// `<name> (access token)`.
    pub name: String,
    /// The run's cached token for these credentials at this endpoint.
    pub token: Slot,
}

/// One cached token (or none yet), locked while it is fetched so one fetch serves all.
pub(super) type Slot = Arc<tokio::sync::Mutex<Option<Token>>>;

/// A run's access tokens, by token endpoint and the names of the credentials' secrets (a
/// run's secrets do not change, so equal names mean equal credentials): every hub node and
/// attempt of the run uses the token another fetched, as the SDK's client does across calls.
#[derive(Default)]
pub(crate) struct TokenCache {
    slots: Mutex<HashMap<(String, String, String), Slot>>,
}

impl TokenCache {
    pub(super) fn slot(&self, token_url: &str, id_name: &str, secret_name: &str) -> Slot {
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        slots
            .entry((token_url.into(), id_name.into(), secret_name.into()))
            .or_default()
            .clone()
    }

    /// Drops every token (each wiped when its last user lets go): the run's end.
    pub(crate) fn purge(&self) {
        self.slots.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}

pub(super) struct Token {
    value: SecretString,
    fetched: Instant,
    lifetime: Option<Duration>,
}

impl Token {
    /// Still good: the SDK's rule (refresh two minutes before the end), with the margin cut to
    /// half the lifetime for short-lived tokens.
    fn fresh(&self, now: Instant) -> bool {
        match self.lifetime {
            None => true,
            Some(l) => now.duration_since(self.fetched) < l - REFRESH_MARGIN.min(l / 2),
        }
    }
}

/// The token endpoint's answer (RFC 6749 §5.1); `expires_in` as a number or a numeric string.
#[derive(Deserialize)]
struct TokenResponse {
    access_token: Wiped,
    #[serde(default)]
    expires_in: Option<serde_json::Value>,
}

/// A string wiped when dropped (read straight into its place).
struct Wiped(Zeroizing<String>);

impl<'de> Deserialize<'de> for Wiped {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(|s| Wiped(Zeroizing::new(s)))
    }
}

/// An OAuth2 error answer (RFC 6749 §5.2).
#[derive(Deserialize)]
struct TokenError {
    error: String,
    #[serde(default)]
    error_description: Option<String>,
}

impl Auth {
    /// The `Authorization` header for the next request (`None`: send none). Fetches a token
    /// first when the cached one is missing or about to expire.
    pub async fn header(
        &self,
        http: &reqwest::Client,
        redactor: &Redactor,
    ) -> Result<Option<HeaderValue>, ApiError> {
        match self {
            Auth::None => Ok(None),
            Auth::Bearer(t) => bearer(t).map(Some),
            Auth::Client(c) => {
                let mut slot = c.token.lock().await;
                let now = Instant::now();
                if !slot.as_ref().is_some_and(|t| t.fresh(now)) {
                    *slot = Some(fetch_token(c, http, redactor).await?);
                }
                match slot.as_ref() {
                    Some(t) => bearer(&t.value).map(Some),
                    None => Err(ApiError::Auth("no access token".into())),
                }
            }
        }
    }

    /// After a 401: forget the cached token so the next request fetches a new one. True when
    /// there was one to forget (a retry can help).
    pub async fn invalidate(&self) -> bool {
        match self {
            Auth::Client(c) => c.token.lock().await.take().is_some(),
            _ => false,
        }
    }
}

/// `Bearer <token>`, marked sensitive (never shown by `Debug`, not compressed into HPACK).
fn bearer(token: &SecretString) -> Result<HeaderValue, ApiError> {
    let text = Zeroizing::new(format!("Bearer {}", token.expose_secret()));
    let mut v = HeaderValue::from_str(&text).map_err(|_| {
        ApiError::Auth("the token holds characters an HTTP header cannot carry".into())
    })?;
    v.set_sensitive(true);
    Ok(v)
}

/// `Basic base64(urlencode(id) ":" urlencode(secret))`: RFC 6749 §2.3.1, as the SDK's OAuth2
/// client (authlib, `client_secret_basic`) sends it.
fn basic(id: &SecretString, secret: &SecretString) -> Result<HeaderValue, ApiError> {
    let mut pair = Zeroizing::new(String::new());
    form_encode(id.expose_secret(), &mut pair);
    pair.push(':');
    form_encode(secret.expose_secret(), &mut pair);
    let mut text = Zeroizing::new(String::from("Basic "));
    base64::engine::general_purpose::STANDARD.encode_string(pair.as_bytes(), &mut text);
    let mut v = HeaderValue::from_str(&text)
        .map_err(|_| ApiError::Auth("the client credentials cannot form a header".into()))?;
    v.set_sensitive(true);
    Ok(v)
}

/// Percent-encodes everything but the unreserved characters (RFC 3986 §2.3) into `out`.
pub(super) fn form_encode(s: &str, out: &mut String) {
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(char::from(b"0123456789ABCDEF"[usize::from(b >> 4)]));
            out.push(char::from(b"0123456789ABCDEF"[usize::from(b & 15)]));
        }
    }
}

/// The client-credentials grant: `POST token_url` with basic auth and
/// `grant_type=client_credentials`. The token is added to the run's redactor at once.
async fn fetch_token(
    c: &ClientCredentials,
    http: &reqwest::Client,
    redactor: &Redactor,
) -> Result<Token, ApiError> {
    let at = &c.token_url;
    let resp = http
        .post(at)
        .header(AUTHORIZATION, basic(&c.id, &c.secret)?)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("accept", "application/json")
        .body("grant_type=client_credentials")
        .send()
        .await
        .map_err(|e| {
            ApiError::Auth(format!(
                "cannot reach the token endpoint {at}: {}",
                super::api::transport(&e)
            ))
        })?;
    let status = resp.status();
    let body = Zeroizing::new(
        read_capped(resp, MAX_TOKEN_RESPONSE)
            .await
            .map_err(|e| ApiError::Auth(format!("the token endpoint {at}: {e}")))?,
    );
    if !status.is_success() {
        let why = match serde_json::from_slice::<TokenError>(&body) {
            Ok(e) => match e.error_description {
                Some(d) if !d.is_empty() => format!(" ({}: {d})", e.error),
                _ => format!(" ({})", e.error),
            },
            Err(_) => String::new(),
        };
        return Err(ApiError::Auth(format!(
            "the token endpoint {at} refused the client credentials: HTTP {}{why}",
            status.as_u16()
        )));
    }
    let t: TokenResponse = serde_json::from_slice(&body).map_err(|_| {
        ApiError::Auth(format!(
            "the token endpoint {at} answered without an `access_token`"
        ))
    })?;
    if t.access_token.0.is_empty() {
        return Err(ApiError::Auth(format!(
            "the token endpoint {at} answered with an empty `access_token`"
        )));
    }
    let lifetime = t
        .expires_in
        .as_ref()
        .and_then(|v| match v {
            serde_json::Value::Number(n) => n.as_f64(),
            serde_json::Value::String(s) => s.trim().parse().ok(),
            _ => None,
        })
        .filter(|s| s.is_finite() && *s > 0.0)
        .map(|s| Duration::from_secs_f64(s.min(1e9)));
    let value = SecretString::from(t.access_token.0.as_str());
    // Redacted from here on wherever it turns up (a service that echoes its headers).
    let _ = redactor.add_secret(&format!("{} (access token)", c.name), &value);
    Ok(Token {
        value,
        fetched: Instant::now(),
        lifetime,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_auth_encodes_as_the_sdk_does() {
        let v = basic(&"key id".into(), &"s3cr:t/é".into()).unwrap();
        assert!(v.is_sensitive());
        let text = v.to_str().unwrap().strip_prefix("Basic ").unwrap();
        let raw = base64::engine::general_purpose::STANDARD
            .decode(text)
            .unwrap();
        assert_eq!(raw, b"key%20id:s3cr%3At%2F%C3%A9");
    }

    #[test]
    fn tokens_are_refreshed_before_they_expire() {
        let t0 = Instant::now();
        let token = |secs: u64| Token {
            value: "t".into(),
            fetched: t0,
            lifetime: Some(Duration::from_secs(secs)),
        };
        // An hour-long token: good until two minutes before its end.
        assert!(token(3600).fresh(t0 + Duration::from_secs(3479)));
        assert!(!token(3600).fresh(t0 + Duration::from_secs(3480)));
        // A short one: refreshed at half its life.
        assert!(token(60).fresh(t0 + Duration::from_secs(29)));
        assert!(!token(60).fresh(t0 + Duration::from_secs(30)));
        let forever = Token {
            value: "t".into(),
            fetched: t0,
            lifetime: None,
        };
        assert!(forever.fresh(t0 + Duration::from_secs(1 << 30)));
    }
}
