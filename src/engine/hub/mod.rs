//! A hub-hosted service node: a managed service on the hub called through its Service API
//! (docs/service-protocol.md, "Hub services"): `POST /` with the node's input as the body,
//! status polled, logs streamed (redacted), result fetched, cancelled with the run.

mod api;
mod auth;
mod logs;

pub(crate) use self::auth::TokenCache;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, Once};
use std::time::{Duration, Instant, SystemTime};

use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use tokio::sync::watch;
use zeroize::Zeroizing;

use self::api::{Api, ApiError, Execution};
use self::auth::{Auth, ClientCredentials, DEFAULT_TOKEN_URL};
use super::event::{Attempt, Event};
use super::files::{FileSink, MAX_FILES, OutputFile};
use super::lifecycle::{NodeOutcome, Stop};
use super::record::NodeLog;
use super::redact::redact_value;
use super::service::{
    Batch, NON_FINITE_WARNING, Outcome, RunCtx, ServiceInput, emit, error_code, parse_result,
};
use crate::human::{self, Form};
use crate::workflow::{HubAuth, HubRun, Node};

/// The first wait between status polls when the node sets no `poll`; it grows by half
/// after each poll up to [`MAX_POLL`] (the SDK waits 5 s between polls).
const FIRST_POLL: Duration = Duration::from_millis(250);
const MAX_POLL: Duration = Duration::from_secs(5);
/// How long the hub may be unreachable (refused, reset, no answer) before the node fails.
const LOST_AFTER: Duration = Duration::from_secs(10);
/// How long a just-started execution may be unknown (404): `qhub-serve` registers it only
/// after answering the `POST`.
const NOT_FOUND_GRACE: Duration = Duration::from_secs(10);
/// Longest wait for the answer to `PUT /{id}/cancel`, and for a start in flight when the run
/// is cancelled (to learn the id and cancel it).
const CANCEL_WAIT: Duration = Duration::from_secs(5);

/// Installs the TLS crypto provider once per process (reqwest is built without its own).
fn tls_provider() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// Why the node stops waiting for its execution.
#[derive(Clone, Copy)]
enum Halt {
    Cancel,
    Timeout(Duration),
}

/// Runs one hub node's execution to its end. Never panics on anything the server does.
pub(crate) async fn run(
    ctx: &RunCtx,
    (node_id, attempt): (&Arc<str>, Attempt),
    node: &Node,
    hub: &HubRun,
    mut input: ServiceInput,
    log: Arc<Mutex<NodeLog>>,
    mut cancel: watch::Receiver<Stop>,
) -> Outcome {
    let shown = input.shown.take();
    let mut call = Call {
        ctx,
        node: node_id.clone(),
        attempt: attempt.attempt,
        log,
        log_ok: true,
        seen: logs::Seen::default(),
        counts: BTreeMap::new(),
        started: SystemTime::now(),
        t0: Instant::now(),
    };
    let deadline = node.timeout.map(|d| (tokio::time::Instant::now() + d, d));
    let auth = match credentials(ctx, hub) {
        Ok(a) => a,
        Err(e) => return call.fail(e),
    };
    let body = match request_body(ctx, input, node) {
        Ok(b) => b,
        Err(e) => return call.fail(e),
    };
    let api = match Api::new(&hub.url, auth, &ctx.redactor) {
        Ok(a) => a,
        Err(e) => return call.fail(e.to_string()),
    };
    call.send(Event::NodeStarted {
        node: node_id.clone(),
        attempt,
        pid: None,
    })
    .await;
    if let Some(inputs) = shown {
        call.send(Event::NodeInputs {
            node: node_id.clone(),
            attempt: attempt.attempt,
            inputs,
        })
        .await;
    }
    call.note(&format!("hub: starting an execution at {}/", api.base()));

    // The start, which a cancel does not cut short (briefly): its id is needed to cancel it.
    let exec = {
        let start = api.start(&body);
        tokio::pin!(start);
        tokio::select! {
            r = &mut start => r,
            halt = halted(&mut cancel, deadline) => {
                return match tokio::time::timeout(CANCEL_WAIT, &mut start).await {
                    Ok(Ok(Execution { id: Some(id), .. })) => call.cancel(&api, &id, halt, &mut cancel).await,
                    _ => {
                        call.note("hub: stopped before the hub said whether the execution started; if it did, it may still run there");
                        call.halted(halt)
                    }
                };
            }
        }
    };
    drop(body); // wiped: it held the `$secrets` values
    let exec = match exec {
        Ok(e) => e,
        Err(e) => {
            let hint = match e {
                ApiError::Http {
                    status: 401 | 403, ..
                } => " (the hub refused the credentials: check the node's `auth` and its secrets)",
                _ => "",
            };
            return call.fail(format!(
                "cannot start an execution at {}/: {e}{hint}",
                api.base()
            ));
        }
    };
    let Some(id) = exec.id else {
        return call.fail("the hub named no execution id".into());
    };
    let status = shown_status(exec.status.as_deref().unwrap_or("PENDING"));
    call.note(&format!("hub: execution {id} is {status}"));
    let status = match call
        .wait(&api, &id, status, hub.poll, &mut cancel, deadline)
        .await
    {
        Ok(s) => s,
        Err(stopped) => return stopped,
    };
    // The log's last entries, which may come after the status changed.
    let _ = call.pass_logs(&api, &id).await;
    match status.as_str() {
        "SUCCEEDED" => call.succeeded(&api, &id).await,
        "FAILED" => call.failed(&api, &id).await,
        _ => call.fail(format!("the hub cancelled execution {id}")),
    }
}

/// A status as the hub wrote it, upper-cased and cut to a sensible length for the log.
fn shown_status(s: &str) -> String {
    s.chars().take(40).collect::<String>().to_ascii_uppercase()
}

/// One attempt's call: where its log and events go, and what it counted.
struct Call<'a> {
    ctx: &'a RunCtx,
    node: Arc<str>,
    attempt: u32,
    log: Arc<Mutex<NodeLog>>,
    log_ok: bool,
    seen: logs::Seen,
    counts: BTreeMap<String, u64>,
    started: SystemTime,
    t0: Instant,
}

impl Call<'_> {
    async fn send(&self, e: Event) {
        let _ = self.ctx.events.send(e).await;
    }

    /// A `wfop` line in the node's log (redacted).
    fn note(&self, text: &str) {
        let text = self.ctx.redactor.redact_str(text);
        let mut l = self.log.lock().unwrap_or_else(|e| e.into_inner());
        let _ = l.note(SystemTime::now(), &text);
    }

    fn outcome(&self, status: NodeOutcome, reason: Option<String>) -> Outcome {
        let mut o = Outcome::failed(self.started, self.t0, String::new());
        o.status = status;
        o.reason = reason.map(|r| self.ctx.redactor.redact_str(&r));
        o.counts = self.counts.clone();
        o
    }

    fn fail(&self, reason: String) -> Outcome {
        self.note(&reason);
        self.outcome(NodeOutcome::Failed, Some(reason))
    }

    fn halted(&self, halt: Halt) -> Outcome {
        match halt {
            Halt::Cancel => self.outcome(NodeOutcome::Cancelled, Some("cancelled".into())),
            Halt::Timeout(d) => self.outcome(
                NodeOutcome::TimedOut,
                Some(format!(
                    "timed out after {}",
                    human::duration(d, Form::Exact)
                )),
            ),
        }
    }

    /// Polls execution `id` until the hub says it ended (`Ok(status)`), or until the run is
    /// cancelled, the node times out or the hub is lost (`Err(outcome)`).
    async fn wait(
        &mut self,
        api: &Api<'_>,
        id: &str,
        mut status: String,
        poll: Option<Duration>,
        cancel: &mut watch::Receiver<Stop>,
        deadline: Option<(tokio::time::Instant, Duration)>,
    ) -> Result<String, Outcome> {
        let started = Instant::now();
        let mut wait = poll.unwrap_or(FIRST_POLL);
        let mut last_answer = Instant::now();
        loop {
            let polled = tokio::select! {
                p = async {
                    tokio::time::sleep(wait).await;
                    self.poll(api, id).await
                } => p,
                halt = halted(cancel, deadline) => return Err(self.cancel(api, id, halt, cancel).await),
            };
            if poll.is_none() {
                wait = (wait * 3 / 2).min(MAX_POLL);
            }
            match polled {
                Ok(now) => {
                    last_answer = Instant::now();
                    let now = shown_status(&now);
                    if now != status {
                        self.note(&format!("hub: execution {id} is {now}"));
                        status = now;
                    }
                    if matches!(status.as_str(), "SUCCEEDED" | "FAILED" | "CANCELLED") {
                        return Ok(status);
                    }
                }
                // qhub-serve registers an execution only after answering its start.
                Err(ApiError::Http { status: 404, .. }) if started.elapsed() < NOT_FOUND_GRACE => {}
                Err(e @ ApiError::Unreachable(_)) => {
                    if last_answer.elapsed() >= LOST_AFTER {
                        return Err(self.fail(format!(
                            "lost the hub at {}: {e}; no answer for {}, while execution {id} was {status} (it may still run there)",
                            api.base(),
                            human::duration(last_answer.elapsed(), Form::Compact)
                        )));
                    }
                }
                Err(e) => {
                    return Err(
                        self.fail(format!("hub execution {id}: cannot read its status: {e}"))
                    );
                }
            }
        }
    }

    /// One poll: new log entries passed on (a failing log request is not the node's failure),
    /// then the status.
    async fn poll(&mut self, api: &Api<'_>, id: &str) -> Result<String, ApiError> {
        let _ = self.pass_logs(api, id).await;
        let e = api.status(id).await?;
        Ok(e.status.unwrap_or_else(|| "UNKNOWN".into()))
    }

    /// Fetches the log and passes on the entries not seen before, redacted, as the node's
    /// output.
    async fn pass_logs(&mut self, api: &Api<'_>, id: &str) -> Result<(), ApiError> {
        let entries = api.logs(id).await?;
        let fresh = self.seen.fresh(&entries);
        for (stream, text) in logs::lines(&fresh) {
            let mut r = self.ctx.redactor.stream();
            let (mut data, mut redacted) = (Vec::with_capacity(text.len()), Vec::new());
            r.push_marked(text.as_bytes(), &mut data, &mut redacted);
            r.finish_marked(&mut data, &mut redacted);
            merge(&mut self.counts, r.counts());
            emit(
                (&self.node, self.attempt),
                stream,
                Batch { data, redacted },
                &self.ctx.events,
                &self.log,
                &mut self.log_ok,
            )
            .await;
        }
        Ok(())
    }

    /// The run was cancelled or the node timed out: `PUT /{id}/cancel`, then a short wait for
    /// the hub to say `CANCELLED` (a second stop ends the wait).
    async fn cancel(
        &mut self,
        api: &Api<'_>,
        id: &str,
        halt: Halt,
        stop: &mut watch::Receiver<Stop>,
    ) -> Outcome {
        self.note(&format!("hub: cancelling execution {id}"));
        match tokio::time::timeout(CANCEL_WAIT, api.cancel(id)).await {
            Err(_) => self.note(&format!(
                "hub: the cancel request had no answer in {}; execution {id} may still run there",
                human::duration(CANCEL_WAIT, Form::Exact)
            )),
            Ok(Err(e)) => self.note(&format!(
                "hub: the cancel request failed ({e}); execution {id} may still run there"
            )),
            Ok(Ok(())) => {
                let grace = self.ctx.kill_grace.max(Duration::from_secs(1));
                let confirm = async {
                    let t0 = Instant::now();
                    let mut last = None;
                    while t0.elapsed() < grace {
                        match api.status(id).await {
                            Ok(e) => {
                                let s = shown_status(&e.status.unwrap_or_default());
                                if matches!(s.as_str(), "CANCELLED" | "SUCCEEDED" | "FAILED") {
                                    return Some(s);
                                }
                                last = Some(s);
                            }
                            Err(_) => return last,
                        }
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                    last
                };
                let kill = async {
                    if stop.wait_for(|l| *l >= Stop::Kill).await.is_err() {
                        std::future::pending::<()>().await;
                    }
                };
                let said = tokio::select! {
                    s = confirm => s,
                    _ = kill => None,
                };
                let _ = self.pass_logs(api, id).await;
                match said.as_deref() {
                    Some("CANCELLED") => self.note(&format!("hub: execution {id} is CANCELLED")),
                    Some(s) => self.note(&format!(
                        "hub: asked to cancel, execution {id} is {s} (the hub may not stop an execution that already runs)"
                    )),
                    None => self.note(&format!(
                        "hub: asked to cancel; the hub did not say that execution {id} ended"
                    )),
                }
            }
        }
        self.halted(halt)
    }

    /// `SUCCEEDED`: the result (the answer's values, else `output.json`, else `output.txt`
    /// as text, as a local service's) and the other result files.
    async fn succeeded(&mut self, api: &Api<'_>, id: &str) -> Outcome {
        let doc = match api.result(id).await {
            Ok(d) => d,
            Err(e) => {
                return self.fail(format!(
                    "hub execution {id} succeeded but its result cannot be read: {e}"
                ));
            }
        };
        let has = |f: &str| doc.files.iter().any(|n| n == f);
        // As a local platform service's: `output.json`, else `output.txt` holding a simple
        // value's JSON text (a text that is not JSON taken as it is); Python's NaN/Infinity
        // read as null.
        let (mut result, non_finite) = if !doc.data.is_empty() {
            (Value::Object(doc.data.clone()), false)
        } else if has("output.json") || has("output.txt") {
            let name = if has("output.json") {
                "output.json"
            } else {
                "output.txt"
            };
            let bytes = match api.result_file(id, name).await {
                Ok(b) => b,
                Err(e) => {
                    return self.fail(format!("hub execution {id}: cannot fetch its {name}: {e}"));
                }
            };
            match parse_result(&bytes) {
                Ok(v) => v,
                Err(_) if name == "output.txt" => (
                    Value::String(String::from_utf8_lossy(&bytes).into_owned()),
                    false,
                ),
                Err(e) => {
                    return self.fail(format!(
                        "hub execution {id}: its output.json is not valid JSON (line {}, column {}): {e}",
                        e.line(),
                        e.column()
                    ));
                }
            }
        } else {
            (Value::Null, false)
        };
        if non_finite {
            self.send(Event::Warning {
                node: Some(self.node.clone()),
                message: NON_FINITE_WARNING.into(),
            })
            .await;
        }
        let found = redact_value(&self.ctx.redactor, &mut result);
        if !found.is_empty() {
            let names: Vec<String> = found.keys().map(|n| format!("`{n}`")).collect();
            self.send(Event::Warning {
                node: Some(self.node.clone()),
                message: format!(
                    "the hub service returned the value of secret {} in its result; it was redacted",
                    names.join(", ")
                ),
            })
            .await;
        }
        merge(&mut self.counts, found);
        let files = self.files(api, id, &doc.files).await;
        let mut o = self.outcome(NodeOutcome::Succeeded, None);
        o.result = result;
        o.files = files;
        o
    }

    /// `FAILED`: the result's values, when there are any, are the problem document.
    async fn failed(&mut self, api: &Api<'_>, id: &str) -> Outcome {
        let (mut problem, files) = match api.result(id).await {
            Ok(d) => {
                let files = self.files(api, id, &d.files).await;
                ((!d.data.is_empty()).then_some(Value::Object(d.data)), files)
            }
            Err(_) => (None, Vec::new()),
        };
        if let Some(p) = &mut problem {
            let found = redact_value(&self.ctx.redactor, p);
            merge(&mut self.counts, found);
        }
        let why = problem.as_ref().and_then(|p| {
            let title = p.get("title")?.as_str()?;
            Some(match p.get("detail").and_then(Value::as_str) {
                Some(d) if !d.is_empty() && d != title => format!("{title}: {d}"),
                _ => title.to_string(),
            })
        });
        let reason = match why {
            Some(w) => format!("hub execution {id} failed: {w}"),
            None => format!("hub execution {id} failed"),
        };
        self.note(&reason);
        let mut o = self.outcome(NodeOutcome::Failed, Some(reason));
        o.error_code = problem.as_ref().and_then(error_code);
        o.problem = problem;
        o.files = files;
        o
    }

    /// The result files other than the result itself, kept (redacted) in the run record as a
    /// local service's extra output files; one that cannot be fetched is listed with why.
    async fn files(&mut self, api: &Api<'_>, id: &str, names: &[String]) -> Vec<OutputFile> {
        let sink = FileSink {
            record_dir: &self.ctx.record_dir,
            node: &self.node,
            attempt: self.attempt,
            redactor: &self.ctx.redactor,
        };
        let mut wanted: Vec<&String> = names
            .iter()
            .filter(|n| n.as_str() != "output.json" && n.as_str() != "output.txt")
            .collect();
        wanted.sort();
        let mut out = Vec::new();
        for name in wanted.iter().take(MAX_FILES) {
            let file = match api.result_file(id, name).await {
                Ok(bytes) => sink.keep(name, &mut bytes.as_slice()),
                Err(e) => sink.not_kept(name, format!("cannot fetch it from the hub: {e}")),
            };
            merge(&mut self.counts, file.redactions.clone());
            out.push(file);
        }
        if wanted.len() > MAX_FILES {
            self.warn(format!(
                "hub execution {id} has {} result files; the first {MAX_FILES} (by name) were kept",
                wanted.len()
            ))
            .await;
        }
        out
    }

    async fn warn(&self, message: String) {
        self.note(&message);
        let message = self.ctx.redactor.redact_str(&message);
        self.send(Event::Warning {
            node: Some(self.node.clone()),
            message,
        })
        .await;
    }
}

/// Waits until the run is cancelled or the node's deadline passes (never, without either).
async fn halted(
    stop: &mut watch::Receiver<Stop>,
    deadline: Option<(tokio::time::Instant, Duration)>,
) -> Halt {
    let cancelled = async {
        if stop.wait_for(|l| *l >= Stop::Cancel).await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let timed_out = async {
        match deadline {
            Some((at, _)) => tokio::time::sleep_until(at).await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = cancelled => Halt::Cancel,
        _ = timed_out => Halt::Timeout(deadline.map(|(_, d)| d).unwrap_or_default()),
    }
}

/// The node's credentials from the run's secret store.
fn credentials(ctx: &RunCtx, hub: &HubRun) -> Result<Auth, String> {
    let store = ctx.secrets.lock().unwrap_or_else(|e| e.into_inner());
    let get = |name: &str| -> Result<SecretString, String> {
        store
            .get(name)
            .cloned()
            .ok_or_else(|| format!("secret `{name}` has no value"))
    };
    Ok(match &hub.auth {
        HubAuth::None => Auth::None,
        HubAuth::Bearer { token } => Auth::Bearer(get(token)?),
        HubAuth::ClientCredentials {
            access_key_id,
            secret_access_key,
        } => {
            let token_url = hub
                .token_url
                .clone()
                .unwrap_or_else(|| DEFAULT_TOKEN_URL.into());
            Auth::Client(ClientCredentials {
                id: get(access_key_id)?,
                secret: get(secret_access_key)?,
                token: ctx
                    .hub_tokens
                    .slot(&token_url, access_key_id, secret_access_key),
                token_url,
                name: access_key_id.clone(),
            })
        }
    })
}

/// The request body: the node's input object, with its `$secrets` row's secrets as
/// `"$secrets": { param: value }` (as the SDK's `run(request, secrets=…)` sends them). Wiped
/// when dropped.
fn request_body(
    ctx: &RunCtx,
    input: ServiceInput,
    node: &Node,
) -> Result<Zeroizing<Vec<u8>>, String> {
    let body = input.into_body();
    let bindings = node.bound_secrets();
    if bindings.is_empty() {
        return Ok(Zeroizing::new(body));
    }
    let store = ctx.secrets.lock().unwrap_or_else(|e| e.into_inner());
    let mut given = Vec::with_capacity(bindings.len());
    for b in bindings {
        let Some(v) = store.get(&b.secret) else {
            return Err(format!("secret `{}` has no value", b.secret));
        };
        given.push((b.param.as_str(), v));
    }
    with_secrets(&body, &given)
}

/// Room for the body with the worst JSON escaping of the secrets, made up front: no
/// reallocation leaves a copy of a value behind.
fn room(body: &[u8], given: &[(&str, &SecretString)]) -> usize {
    body.len()
        + 16
        + given
            .iter()
            .map(|(p, v)| 6 * (p.len() + v.expose_secret().len()) + 8)
            .sum::<usize>()
}

/// `body` (a JSON object) with `"$secrets": { param: value, … }` added as its last member.
fn with_secrets(
    body: &[u8],
    given: &[(&str, &SecretString)],
) -> Result<Zeroizing<Vec<u8>>, String> {
    let mut out = Zeroizing::new(Vec::with_capacity(room(body, given)));
    let inner = body
        .strip_prefix(b"{")
        .and_then(|b| b.strip_suffix(b"}"))
        .ok_or("the service input is not a JSON object")?;
    out.push(b'{');
    out.extend_from_slice(inner);
    if !inner.is_empty() {
        out.push(b',');
    }
    out.extend_from_slice(br#""$secrets":{"#);
    for (i, (param, value)) in given.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        serde_json::to_writer(&mut *out, param).map_err(|e| e.to_string())?;
        out.push(b':');
        serde_json::to_writer(&mut *out, value.expose_secret()).map_err(|e| e.to_string())?;
    }
    out.extend_from_slice(b"}}");
    Ok(out)
}

fn merge(into: &mut BTreeMap<String, u64>, from: BTreeMap<String, u64>) {
    for (k, n) in from {
        *into.entry(k).or_default() += n;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_go_into_the_body_as_the_sdk_sends_them() {
        let v: SecretString = "p\"w\\d\u{1}".into();
        let input = br#"{"values":[1,2]}"#;
        let body = with_secrets(input, &[("api_token", &v)]).unwrap();
        let parsed: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            parsed,
            serde_json::json!({ "values": [1, 2], "$secrets": { "api_token": "p\"w\\d\u{1}" } })
        );
        // Enough room was made up front: the buffer never moved (no copy left behind).
        assert_eq!(body.capacity(), room(input, &[("api_token", &v)]));
        let empty = with_secrets(b"{}", &[("a", &v), ("b", &v)]).unwrap();
        let parsed: Value = serde_json::from_slice(&empty).unwrap();
        assert_eq!(parsed["$secrets"].as_object().unwrap().len(), 2);
        assert!(with_secrets(b"[1]", &[("a", &v)]).is_err());
    }
}
