//! The Service API client: start an execution, its status, logs, result, result files and
//! cancel, each a typed answer or an `ApiError` whose text never holds a credential.

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, LOCATION};
use serde::Deserialize;
use serde_json::Value;

use super::auth::{Auth, form_encode};
use crate::secrets::Redactor;

/// Longest wait for a connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest wait for one whole answer.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest wait for one whole result file.
const FILE_TIMEOUT: Duration = Duration::from_secs(600);
/// Largest status, log or result answer read.
const MAX_ANSWER: usize = 64 * 1024 * 1024;
/// Largest result file read (as large as a local service's extra file may be).
const MAX_FILE: usize = crate::engine::files::MAX_FILE as usize;
/// How much of an error answer a message quotes.
const QUOTED: usize = 200;

#[derive(Debug, thiserror::Error)]
pub(super) enum ApiError {
    /// No answer: refused, reset, timed out (the server may be gone).
    #[error("{0}")]
    Unreachable(String),
    /// An answer with an unexpected status.
    #[error("HTTP {status}{}", quote(.body))]
    Http { status: u16, body: String },
    /// An answer that is not what the Service API says.
    #[error("{0}")]
    Invalid(String),
    /// The credentials could not be used or were refused.
    #[error("{0}")]
    Auth(String),
}

fn quote(body: &str) -> String {
    let body = body.trim();
    if body.is_empty() {
        return String::new();
    }
    let mut cut: String = body.chars().take(QUOTED).collect();
    if cut.len() < body.len() {
        cut.push('…');
    }
    format!(": {}", cut.replace(['\n', '\r'], " "))
}

/// A transport error's text: what happened, without reqwest's request-URL wrapper.
pub(super) fn transport(e: &reqwest::Error) -> String {
    let mut why = if e.is_timeout() {
        "no answer in time".to_string()
    } else if e.is_connect() {
        "cannot connect".to_string()
    } else {
        "the connection failed".to_string()
    };
    let mut src = std::error::Error::source(e);
    let mut last = None;
    while let Some(s) = src {
        last = Some(s.to_string());
        src = s.source();
    }
    if let Some(l) = last {
        why.push_str(" (");
        why.push_str(&l);
        why.push(')');
    }
    why
}

/// One execution as the API describes it (`ServiceExecution`).
#[derive(Debug, Clone, Deserialize)]
pub(super) struct Execution {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
}

/// One entry of `GET /{id}/log` (`LogEntry`).
#[derive(Debug, Clone, Deserialize, Hash)]
pub(super) struct LogEntry {
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub severity: Option<String>,
    #[serde(default)]
    pub timestamp: Option<String>,
}

/// A result: the service's values (the answer without its HAL `_links`/`_embedded`) and the
/// result files it links to (every link but `status` and `self`).
#[derive(Debug, Default)]
pub(super) struct ResultDoc {
    pub data: serde_json::Map<String, Value>,
    pub files: Vec<String>,
}

pub(super) struct Api<'a> {
    http: reqwest::Client,
    /// The service's base URL without a trailing `/`.
    base: String,
    auth: Auth,
    redactor: &'a Redactor,
}

impl<'a> Api<'a> {
    pub fn new(url: &str, auth: Auth, redactor: &'a Redactor) -> Result<Api<'a>, ApiError> {
        super::tls_provider();
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("wfop/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ApiError::Invalid(format!("cannot set up the HTTP client: {e}")))?;
        Ok(Api {
            http,
            base: url.trim_end_matches('/').to_string(),
            auth,
            redactor,
        })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// Sends a request built by `make` with the credentials; after a 401 with a cached token,
    /// fetches a new one and sends it once more.
    async fn send(
        &self,
        make: impl Fn() -> reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, ApiError> {
        let resp = self.send_once(&make).await?;
        if resp.status() == StatusCode::UNAUTHORIZED && self.auth.invalidate().await {
            return self.send_once(&make).await;
        }
        Ok(resp)
    }

    async fn send_once(
        &self,
        make: &impl Fn() -> reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, ApiError> {
        let mut req = make();
        if let Some(h) = self.auth.header(&self.http, self.redactor).await? {
            req = req.header(AUTHORIZATION, h);
        }
        req.send()
            .await
            .map_err(|e| ApiError::Unreachable(transport(&e)))
    }

    /// `POST {url}/` with the body: 201 (any 2xx) and the execution, whose id is the body's
    /// `id`, else the last segment of `Location`.
    pub async fn start(&self, body: &[u8]) -> Result<Execution, ApiError> {
        let url = format!("{}/", self.base);
        let resp = self
            .send(|| {
                self.http
                    .post(&url)
                    .header("content-type", "application/json")
                    .header("accept", "application/json")
                    .body(body.to_vec())
            })
            .await?;
        let location = resp
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let mut exec: Execution = self.json(resp, "starting an execution").await?;
        if exec.id.as_deref().is_none_or(str::is_empty) {
            exec.id = location
                .as_deref()
                .and_then(|l| l.trim_end_matches('/').rsplit('/').next())
                .filter(|s| !s.is_empty())
                .map(str::to_string);
        }
        match &exec.id {
            Some(id) if is_id(id) => Ok(exec),
            Some(_) => Err(ApiError::Invalid(
                "the hub answered with an execution id that cannot be part of a URL".into(),
            )),
            None => Err(ApiError::Invalid(
                "the hub started an execution but named neither its `id` nor a `Location`".into(),
            )),
        }
    }

    /// `GET /{id}`.
    pub async fn status(&self, id: &str) -> Result<Execution, ApiError> {
        let url = format!("{}/{id}", self.base);
        let resp = self.send(|| self.get(&url)).await?;
        self.json(resp, "the execution's status").await
    }

    /// `GET /{id}/log`: `null`, 204 and an empty answer all mean no entries yet.
    pub async fn logs(&self, id: &str) -> Result<Vec<LogEntry>, ApiError> {
        let url = format!("{}/{id}/log", self.base);
        let resp = self.send(|| self.get(&url)).await?;
        if resp.status() == StatusCode::NO_CONTENT {
            return Ok(Vec::new());
        }
        let v: Option<Vec<LogEntry>> = self.json(resp, "the execution's log").await?;
        Ok(v.unwrap_or_default())
    }

    /// `GET /{id}/result`.
    pub async fn result(&self, id: &str) -> Result<ResultDoc, ApiError> {
        let url = format!("{}/{id}/result", self.base);
        let resp = self.send(|| self.get(&url)).await?;
        let v: Value = self.json(resp, "the execution's result").await?;
        let Value::Object(mut data) = v else {
            return Err(ApiError::Invalid(
                "the execution's result is not a JSON object".into(),
            ));
        };
        let mut files = Vec::new();
        if let Some(Value::Object(links)) = data.shift_remove("_links") {
            files.extend(
                links
                    .into_iter()
                    .map(|(k, _)| k)
                    .filter(|k| k != "status" && k != "self"),
            );
        }
        data.shift_remove("_embedded");
        Ok(ResultDoc { data, files })
    }

    /// `GET /{id}/result/{file}`: the file's bytes (at most `MAX_FILE`).
    pub async fn result_file(&self, id: &str, name: &str) -> Result<Vec<u8>, ApiError> {
        let mut url = format!("{}/{id}/result/", self.base);
        form_encode(name, &mut url);
        let resp = self
            .send(|| {
                self.http
                    .get(&url)
                    .header("accept", "*/*")
                    .timeout(FILE_TIMEOUT)
            })
            .await?;
        if !resp.status().is_success() {
            return Err(self.http_error(resp).await);
        }
        read_capped(resp, MAX_FILE).await
    }

    /// `PUT /{id}/cancel` (204, any 2xx).
    pub async fn cancel(&self, id: &str) -> Result<(), ApiError> {
        let url = format!("{}/{id}/cancel", self.base);
        let resp = self.send(|| self.http.put(&url)).await?;
        if !resp.status().is_success() {
            return Err(self.http_error(resp).await);
        }
        Ok(())
    }

    fn get(&self, url: &str) -> reqwest::RequestBuilder {
        self.http.get(url).header("accept", "application/json")
    }

    /// A 2xx answer's JSON body, else the status as an error.
    async fn json<T: serde::de::DeserializeOwned>(
        &self,
        resp: reqwest::Response,
        what: &str,
    ) -> Result<T, ApiError> {
        if !resp.status().is_success() {
            return Err(self.http_error(resp).await);
        }
        let body = read_capped(resp, MAX_ANSWER).await?;
        let body: &[u8] = if body.iter().all(u8::is_ascii_whitespace) {
            b"null"
        } else {
            &body
        };
        serde_json::from_slice(body).map_err(|e| {
            ApiError::Invalid(format!(
                "{what}: the hub's answer is not what the Service API describes ({e})"
            ))
        })
    }

    /// An unexpected status, with the start of its body (redacted: an error page may echo the
    /// request, and the request may carry `$secrets`).
    async fn http_error(&self, resp: reqwest::Response) -> ApiError {
        let status = resp.status().as_u16();
        let body = read_capped(resp, 4096).await.unwrap_or_default();
        let text = String::from_utf8_lossy(&body);
        let body: String = text.chars().take(QUOTED * 2).collect();
        ApiError::Http {
            status,
            body: self.redactor.redact_str(&body),
        }
    }
}

/// An execution id that can stand in a URL path as it is.
fn is_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 200
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.~".contains(&b))
        && id != "."
        && id != ".."
}

/// Reads an answer's body, refusing one larger than `max` bytes.
pub(super) async fn read_capped(
    mut resp: reqwest::Response,
    max: usize,
) -> Result<Vec<u8>, ApiError> {
    if resp.content_length().is_some_and(|n| n > max as u64) {
        return Err(ApiError::Invalid(format!(
            "the answer is larger than {max} bytes"
        )));
    }
    let mut out = Vec::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| ApiError::Unreachable(transport(&e)))?
    {
        if out.len() + chunk.len() > max {
            return Err(ApiError::Invalid(format!(
                "the answer is larger than {max} bytes"
            )));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn execution_ids_must_fit_a_url_path() {
        assert!(is_id("0f8fad5b-d9cb-469f-a165-70867728950e"));
        for bad in ["", ".", "..", "a/b", "a b", "x?y", "é"] {
            assert!(!is_id(bad), "{bad:?}");
        }
    }

    #[test]
    fn error_answers_are_quoted_short_and_on_one_line() {
        let e = ApiError::Http {
            status: 500,
            body: format!("line\n{}", "x".repeat(500)),
        };
        let text = e.to_string();
        assert!(text.starts_with("HTTP 500: line x"), "{text}");
        assert!(text.ends_with('…'));
        assert!(text.chars().count() < 220);
        let e = ApiError::Http {
            status: 404,
            body: " ".into(),
        };
        assert_eq!(e.to_string(), "HTTP 404");
    }
}
