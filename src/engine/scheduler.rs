//! The scheduler (DESIGN.md §6): runs service nodes in graph order, in parallel up to a limit,
//! fails fast or keeps going, turns signals into a cancel, keeps the record up to date.

use std::collections::{BTreeMap, HashMap};
use std::ffi::OsString;
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime};

use serde_json::{Map, Value};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use super::event::{Event, NodeStatus, NodeSummary, RunStatus};
use super::record::{NodeDoc, NodeLog, Record, RunDoc};
use super::redact::{Redactor, ShownVars};
use super::service::{
    CANCEL_FORCE, CANCEL_GRACEFUL, CANCEL_NONE, Outcome, RunCtx, SECRETS_FD_VAR, SecretParam,
    ServiceInput, run_service,
};
use super::{EngineError, RunOptions, RunReport, clock, sandbox};
use crate::expr;
use crate::secrets::SecretStore;
use crate::workflow::model::SECRETS_ROW;
use crate::workflow::{Node, NodeKind, Workflow};

/// The one base environment of every child: wfop's own, without `SECRET_*`, without the
/// variables secrets were read from, without `$WFOP_SECRETS_FD`, and without any inherited
/// variable whose value equals or contains a secret's value (a copy the shell also exported).
/// Returns the names of the variables dropped for that last reason (`None` for a name that
/// itself holds a secret's value, which is never shown).
fn base_env(store: &SecretStore) -> (Vec<(OsString, OsString)>, Vec<Option<String>>) {
    use std::os::unix::ffi::OsStrExt;
    let sources = store.source_env_vars();
    let mut dropped = Vec::new();
    let env = std::env::vars_os()
        .filter(|(k, v)| {
            let name = k.to_string_lossy();
            if name.starts_with("SECRET_")
                || name == SECRETS_FD_VAR
                || sources.iter().any(|s| *s == name)
            {
                return false;
            }
            let name_holds = store.holds_a_value(k.as_bytes());
            if name_holds || store.holds_a_value(v.as_bytes()) {
                dropped.push((!name_holds).then(|| name.into_owned()));
                return false;
            }
            true
        })
        .collect();
    (env, dropped)
}

/// "inherited variables `A`, `B` hold a secret's value; no service gets them" (names only).
fn dropped_warning(dropped: &[Option<String>]) -> String {
    let mut names: Vec<String> = dropped.iter().flatten().map(|n| format!("`{n}`")).collect();
    let hidden = dropped.iter().filter(|n| n.is_none()).count();
    if hidden > 0 {
        names.push(format!("{hidden} whose name holds one"));
    }
    let (word, verb) = if dropped.len() == 1 {
        ("variable", "holds")
    } else {
        ("variables", "hold")
    };
    format!(
        "inherited {word} {} {verb} a secret's value; no service gets {}",
        names.join(", "),
        if dropped.len() == 1 { "it" } else { "them" }
    )
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Pending,
    Running,
    Done(NodeStatus),
}

pub(crate) async fn schedule(
    wf: Arc<Workflow>,
    inputs: Map<String, Value>,
    store: SecretStore,
    opts: RunOptions,
    events: mpsc::Sender<Event>,
) -> Result<RunReport, EngineError> {
    let t0 = Instant::now();
    let started = SystemTime::now();
    // Caught before the record exists, so no stop signal can end wfop with a run `running`.
    let mut signals = watch_signals()?;
    let redactor = Redactor::new();
    let mut warnings = Vec::new();
    // One build of the automaton for all secrets.
    let secrets: Vec<_> = store.iter().collect();
    for ((name, _), result) in secrets
        .iter()
        .zip(redactor.add_secrets(secrets.iter().copied()))
    {
        match result {
            Ok(None) => {}
            Ok(Some(w)) => warnings.push(w.to_string()),
            Err(e) => warnings.push(format!("secret `{name}` cannot be redacted: {e}")),
        }
    }
    let (base_env, dropped) = base_env(&store);
    if !dropped.is_empty() {
        warnings.push(dropped_warning(&dropped));
    }
    let sandbox = if wf.nodes.iter().any(|n| n.kind == NodeKind::Service) {
        let plan = sandbox::Plan::new();
        match sandbox::probe(&plan) {
            Ok(()) => Some(Arc::new(plan)),
            Err(e) => {
                warnings.push(format!(
                    "services are not isolated from each other ({e}): a service can read the \
                     environment of a sibling's processes, and with it the `SECRET_*` of command \
                     services; processes a service leaves behind live until the run ends"
                ));
                None
            }
        }
    } else {
        None
    };

    let shown_inputs = ShownVars::redact(&redactor, &inputs);
    // One redacted tree, shared by the record, the events and the report.
    let recorded_inputs = shown_inputs.shared();
    let service_ids: Vec<usize> = (0..wf.nodes.len())
        .filter(|&i| wf.nodes[i].kind == NodeKind::Service)
        .collect();
    let mut record = create_record(&opts, &wf, recorded_inputs, &service_ids, started)?;
    let run_id = record.doc.run_id.clone();

    let send = |e: Event| {
        let events = events.clone();
        async move {
            let _ = events.send(e).await;
        }
    };
    send(Event::RunStarted {
        run_id: run_id.clone(),
        workflow: wf.name.clone(),
        record: record.dir().to_path_buf(),
        nodes: service_ids
            .iter()
            .map(|&i| wf.nodes[i].id.clone())
            .collect(),
        inputs: shown_inputs.clone(),
    })
    .await;
    for w in warnings {
        send(Event::Warning {
            node: None,
            message: w,
        })
        .await;
    }

    let ctx = Arc::new(RunCtx {
        run_id: run_id.clone(),
        base_dir: std::path::absolute(&wf.base_dir).unwrap_or_else(|_| wf.base_dir.clone()),
        redactor: redactor.clone(),
        secrets: Arc::new(Mutex::new(store)),
        base_env,
        events: events.clone(),
        kill_grace: opts.kill_grace,
        sandbox,
    });
    let (cancel_tx, cancel_rx) = watch::channel(CANCEL_NONE);

    let n = wf.nodes.len();
    let edges = wf.edge_indices();
    let mut preds = vec![Vec::new(); n];
    for &(a, b) in &edges {
        preds[b].push(a);
    }
    let ids: Vec<Arc<str>> = wf.nodes.iter().map(|n| Arc::from(n.id.as_str())).collect();
    let mut state = vec![State::Pending; n];
    let mut vars = inputs;
    let mut tasks: JoinSet<(usize, Outcome)> = JoinSet::new();
    let mut task_node: HashMap<tokio::task::Id, usize> = HashMap::new();
    // The open log of each running node, kept until the node ends (for wfop's own notes).
    let mut logs: HashMap<usize, Arc<Mutex<NodeLog>>> = HashMap::new();
    let mut summaries: BTreeMap<usize, NodeSummary> = BTreeMap::new();
    let mut first_failure: Option<String> = None;
    let mut interrupted: Option<i32> = None;
    // A front end's cancel command: 0 none seen, 1 cancel, 2 kill.
    let mut cancel_seen: u8 = 0;
    let max = opts.max_parallel.max(1);

    loop {
        if cancel_seen == 0 && opts.cancel.is_cancelled() {
            cancel_seen = 1;
            cancel_tx.send_modify(|l| *l = (*l).max(CANCEL_GRACEFUL));
        }
        // Start what is ready, in file order; start and end nodes pass at once.
        let mut changed = true;
        while changed {
            changed = false;
            let stopping = interrupted.is_some()
                || cancel_seen > 0
                || first_failure.is_some() && !opts.keep_going;
            for i in 0..n {
                if state[i] != State::Pending
                    || !preds[i]
                        .iter()
                        .all(|&p| state[p] == State::Done(NodeStatus::Succeeded))
                {
                    continue;
                }
                let node = &wf.nodes[i];
                if node.kind != NodeKind::Service {
                    state[i] = State::Done(NodeStatus::Succeeded);
                    changed = true;
                    continue;
                }
                if stopping || tasks.len() >= max {
                    continue;
                }
                changed = true;
                let id = ids[i].clone();
                let prepared = eval_input(node, &vars).and_then(|input| {
                    record
                        .node_log(&id)
                        .map(|log| (input, log))
                        .map_err(|e| e.to_string())
                });
                let (input, log) = match prepared {
                    Ok(p) => p,
                    Err(reason) => {
                        let reason = redactor.redact_str(&reason);
                        let out = Outcome {
                            status: NodeStatus::Failed,
                            exit_code: None,
                            signal: None,
                            reason: Some(reason),
                            result: Value::Null,
                            counts: BTreeMap::new(),
                            started: SystemTime::now(),
                            duration: Default::default(),
                        };
                        state[i] = State::Done(NodeStatus::Failed);
                        finish_node(&mut record, &mut summaries, &wf, i, &out, None, &events).await;
                        first_failure.get_or_insert_with(|| node.id.clone());
                        if !opts.keep_going {
                            cancel_tx.send_modify(|l| *l = (*l).max(CANCEL_GRACEFUL));
                        }
                        continue;
                    }
                };
                state[i] = State::Running;
                if let Some(d) = record.node_mut(&id) {
                    d.status = "running".into();
                    d.started = Some(clock::rfc3339(SystemTime::now()));
                }
                let _ = record.save();
                let params = secret_params(node);
                let (ctx, wf2, rx) = (ctx.clone(), wf.clone(), cancel_rx.clone());
                let log = Arc::new(Mutex::new(log));
                let log2 = log.clone();
                let handle = tasks.spawn(async move {
                    let node = &wf2.nodes[i];
                    let out = run_service(ctx, id, node, input, params, log2, rx).await;
                    (i, out)
                });
                task_node.insert(handle.id(), i);
                logs.insert(i, log);
            }
        }
        if tasks.is_empty() {
            break;
        }
        tokio::select! {
            joined = tasks.join_next_with_id() => {
                let (i, out) = match joined {
                    Some(Ok((_, (i, out)))) => (i, out),
                    Some(Err(e)) => {
                        let Some(&i) = task_node.get(&e.id()) else { continue };
                        (i, Outcome {
                            status: NodeStatus::Failed, exit_code: None, signal: None,
                            reason: Some("internal error: the node's task ended abnormally".into()),
                            result: Value::Null, counts: BTreeMap::new(),
                            started: SystemTime::now(), duration: Default::default(),
                        })
                    }
                    None => continue,
                };
                let node = &wf.nodes[i];
                let mut out = out;
                if out.status == NodeStatus::Succeeded {
                    match apply_output(node, &out.result, &mut vars) {
                        Ok(set) if !set.is_empty() => {
                            let variables = ShownVars::redact(&redactor, &set);
                            let _ = events.send(Event::Outputs { node: node.id.as_str().into(), variables }).await;
                        }
                        Ok(_) => {}
                        Err(reason) => {
                            out.status = NodeStatus::Failed;
                            out.reason = Some(redactor.redact_str(&reason));
                        }
                    }
                }
                state[i] = State::Done(out.status);
                let log = logs.remove(&i);
                finish_node(&mut record, &mut summaries, &wf, i, &out, log, &events).await;
                if out.status != NodeStatus::Succeeded && interrupted.is_none() && cancel_seen == 0 {
                    first_failure.get_or_insert_with(|| node.id.clone());
                    if !opts.keep_going {
                        cancel_tx.send_modify(|l| *l = (*l).max(CANCEL_GRACEFUL));
                    }
                }
            }
            Some(sig) = signals.recv() => interrupt(&mut interrupted, sig, &cancel_tx),
            level = opts.cancel.above(cancel_seen) => {
                cancel_seen = level;
                let to = if level >= 2 { CANCEL_FORCE } else { CANCEL_GRACEFUL };
                cancel_tx.send_modify(|l| *l = (*l).max(to));
            }
        }
    }

    // What never ran is skipped, with the reason.
    for i in 0..n {
        if state[i] != State::Pending {
            continue;
        }
        state[i] = State::Done(NodeStatus::Skipped);
        let node = &wf.nodes[i];
        if node.kind != NodeKind::Service {
            continue;
        }
        let reason = if interrupted.is_some() {
            "the run was interrupted".to_string()
        } else if cancel_seen > 0 {
            "the run was cancelled".to_string()
        } else if let (Some(f), false) = (&first_failure, opts.keep_going) {
            format!("the run stopped after `{f}` failed")
        } else {
            let failed: Vec<String> = preds[i]
                .iter()
                .filter(|&&p| state[p] != State::Done(NodeStatus::Succeeded))
                .map(|&p| format!("`{}`", wf.nodes[p].id))
                .collect();
            format!("needs {}, which did not succeed", failed.join(", "))
        };
        if let Some(d) = record.node_mut(&node.id) {
            d.status = "skipped".into();
            d.reason = Some(reason.clone());
        }
        summaries.insert(
            i,
            NodeSummary {
                node: node.id.clone(),
                label: node.display_label().to_string(),
                status: NodeStatus::Skipped,
                duration_ms: None,
                exit_code: None,
                signal: None,
                reason: Some(reason.clone()),
            },
        );
        send(Event::NodeSkipped {
            node: ids[i].clone(),
            reason,
        })
        .await;
    }

    let status = match interrupted {
        Some(signal) => RunStatus::Interrupted { signal },
        None if cancel_seen > 0 => RunStatus::Cancelled,
        None if summaries
            .values()
            .any(|s| s.status != NodeStatus::Succeeded) =>
        {
            RunStatus::Failed
        }
        None => RunStatus::Succeeded,
    };
    // The variables as shown and recorded: redacted while the redactor still knows the secrets
    // (inputs hold the real values the services needed).
    let final_vars = ShownVars::redact_owned(&redactor, vars);
    ctx.secrets
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .purge();
    redactor.purge();
    send(Event::SecretsPurged).await;

    record.doc.status = status.as_str().into();
    record.doc.exit_code = Some(status.exit_code());
    record.doc.signal = interrupted;
    record.doc.finished = Some(clock::rfc3339(SystemTime::now()));
    let duration_ms = t0.elapsed().as_millis() as u64;
    record.doc.duration_ms = Some(duration_ms);
    record.doc.variables = Some(final_vars.shared());
    let record_error = record.save().err();
    if let Some(e) = &record_error {
        send(Event::Warning {
            node: None,
            message: e.to_string(),
        })
        .await;
    }
    let nodes: Vec<NodeSummary> = service_ids
        .iter()
        .filter_map(|i| summaries.get(i).cloned())
        .collect();
    send(Event::RunFinished {
        status,
        duration_ms,
        nodes: nodes.clone(),
    })
    .await;
    Ok(RunReport {
        run_id,
        status,
        record: record.dir().to_path_buf(),
        nodes,
        inputs: shown_inputs,
        variables: final_vars,
    })
}

/// Every stop signal of `signals::stop_signals()`, as one channel of signal numbers.
fn watch_signals() -> Result<mpsc::UnboundedReceiver<i32>, EngineError> {
    let (tx, rx) = mpsc::unbounded_channel();
    for sig in super::signals::stop_signals() {
        let mut stream = signal(SignalKind::from_raw(sig)).map_err(EngineError::Signals)?;
        let tx = tx.clone();
        tokio::spawn(async move {
            while stream.recv().await.is_some() {
                if tx.send(sig).is_err() {
                    return;
                }
            }
        });
    }
    Ok(rx)
}

fn interrupt(interrupted: &mut Option<i32>, sig: i32, cancel: &watch::Sender<u8>) {
    if interrupted.is_some() {
        // A second signal: no more grace.
        cancel.send_modify(|l| *l = CANCEL_FORCE);
    } else {
        *interrupted = Some(sig);
        cancel.send_modify(|l| *l = (*l).max(CANCEL_GRACEFUL));
    }
}

async fn finish_node(
    record: &mut Record,
    summaries: &mut BTreeMap<usize, NodeSummary>,
    wf: &Workflow,
    index: usize,
    out: &Outcome,
    log: Option<Arc<Mutex<NodeLog>>>,
    events: &mpsc::Sender<Event>,
) {
    let node = &wf.nodes[index];
    let id: &Arc<str> = &Arc::from(node.id.as_str());
    let now = SystemTime::now();
    if let (Some(log), Some(reason)) = (&log, &out.reason) {
        let mut l = log.lock().unwrap_or_else(|e| e.into_inner());
        let _ = l.note(now, &format!("{}: {reason}", out.status.as_str()));
    }
    let duration_ms = out.duration.as_millis() as u64;
    if let Some(d) = record.node_mut(id) {
        d.status = status_key(out.status).into();
        d.started.get_or_insert_with(|| clock::rfc3339(out.started));
        d.finished = Some(clock::rfc3339(now));
        d.duration_ms = Some(duration_ms);
        d.exit_code = out.exit_code;
        d.signal = out.signal;
        d.reason = out.reason.clone();
        d.result = (out.status == NodeStatus::Succeeded).then(|| out.result.clone());
        d.redactions = out.counts.clone();
    }
    let _ = record.save();
    if !out.counts.is_empty() {
        let _ = events
            .send(Event::Redactions {
                node: id.clone(),
                counts: out.counts.clone(),
            })
            .await;
    }
    summaries.insert(
        index,
        NodeSummary {
            node: node.id.clone(),
            label: node.display_label().to_string(),
            status: out.status,
            duration_ms: Some(duration_ms),
            exit_code: out.exit_code,
            signal: out.signal,
            reason: out.reason.clone(),
        },
    );
    let _ = events
        .send(Event::NodeFinished {
            node: id.clone(),
            status: out.status,
            duration_ms,
            exit_code: out.exit_code,
            signal: out.signal,
            reason: out.reason.clone(),
        })
        .await;
}

pub(crate) fn status_key(s: NodeStatus) -> &'static str {
    match s {
        NodeStatus::Succeeded => "succeeded",
        NodeStatus::Failed => "failed",
        NodeStatus::TimedOut => "timed_out",
        NodeStatus::Cancelled => "cancelled",
        NodeStatus::Skipped => "skipped",
    }
}

fn create_record(
    opts: &RunOptions,
    wf: &Workflow,
    inputs: Arc<Value>,
    service_ids: &[usize],
    started: SystemTime,
) -> Result<Record, EngineError> {
    let nodes: Vec<NodeDoc> = service_ids
        .iter()
        .map(|&i| NodeDoc {
            id: wf.nodes[i].id.clone(),
            label: wf.nodes[i].display_label().to_string(),
            status: "pending".into(),
            started: None,
            finished: None,
            duration_ms: None,
            exit_code: None,
            signal: None,
            reason: None,
            result: None,
            redactions: BTreeMap::new(),
        })
        .collect();
    let mut last = None;
    for attempt in 0..8u32 {
        let nanos = SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let tag =
            (nanos ^ std::process::id().rotate_left(16) ^ attempt.wrapping_mul(0x9e37)) & 0xffff;
        let doc = RunDoc {
            // Start time to the microsecond, then a random tail: ids sort by start.
            run_id: format!("{}-{tag:04x}", clock::compact_micros(started)),
            workflow: wf.name.clone(),
            workflow_path: wf.path.clone(),
            pid: std::process::id(),
            pid_start: super::record::own_start(),
            status: "running".into(),
            exit_code: None,
            signal: None,
            started: clock::rfc3339(started),
            finished: None,
            duration_ms: None,
            inputs: inputs.clone(),
            nodes: nodes.clone(),
            variables: None,
        };
        match Record::create(&opts.state_dir, doc) {
            Ok(r) => return Ok(r),
            Err(e) => last = Some(e),
        }
    }
    Err(EngineError::Record(
        last.map(|e| e.to_string()).unwrap_or_default(),
    ))
}

/// The evaluated input mapping (no mapping: all workflow variables), without `$secrets`,
/// serialized for the service (the variables are read, never copied).
fn eval_input(node: &Node, vars: &Map<String, Value>) -> Result<ServiceInput, String> {
    let Some(rows) = &node.input_mapping else {
        return Ok(ServiceInput::new(vars));
    };
    // Later rows read earlier ones first, then the variables (never copied into one scope).
    let mut out = Map::new();
    for row in rows.iter().filter(|r| r.name != SECRETS_ROW) {
        let Some(e) = &row.expr else {
            return Err(format!("input mapping `{}` does not parse", row.name));
        };
        let v = expr::eval_layered(e, &[&out, vars])
            .map_err(|e| format!("input mapping `{}`: {e}", row.name))?;
        out.insert(row.name.clone(), v);
    }
    Ok(ServiceInput::new(&out))
}

/// Puts a successful result into the workflow variables, through the output mapping; returns
/// the variables it set.
fn apply_output(
    node: &Node,
    result: &Value,
    vars: &mut Map<String, Value>,
) -> Result<Map<String, Value>, String> {
    let Some(rows) = &node.output_mapping else {
        let set = match result {
            Value::Object(m) => m.clone(),
            _ => Map::new(),
        };
        vars.extend(set.iter().map(|(k, v)| (k.clone(), v.clone())));
        return Ok(set);
    };
    let mut set = Map::new();
    let empty = Map::new();
    let result_map = match result {
        Value::Object(m) => m,
        _ => &empty,
    };
    for row in rows {
        let Some(e) = &row.expr else {
            return Err(format!("output mapping `{}` does not parse", row.name));
        };
        // Earlier rows, then the result, then the variables (never copied into one scope).
        let v = expr::eval_layered(e, &[&set, result_map, vars])
            .map_err(|e| format!("output mapping `{}`: {e}", row.name))?;
        set.insert(row.name.clone(), v);
    }
    vars.extend(set.iter().map(|(k, v)| (k.clone(), v.clone())));
    Ok(set)
}

/// The node's secret parameters, from its `$secrets` row.
fn secret_params(node: &Node) -> Vec<SecretParam> {
    node.secrets_row()
        .and_then(|r| r.expr.as_ref())
        .and_then(|e| expr::secret_bindings(e).ok())
        .unwrap_or_default()
        .into_iter()
        .map(|b| SecretParam {
            param: b.param,
            secret: b.secret,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::dropped_warning;

    #[test]
    fn the_dropped_warning_names_variables_but_not_a_name_holding_a_value() {
        let w = dropped_warning(&[Some("OTHER_COPY".into()), Some("EMBED".into()), None]);
        assert_eq!(
            w,
            "inherited variables `OTHER_COPY`, `EMBED`, 1 whose name holds one hold a secret's \
             value; no service gets them"
        );
        let w = dropped_warning(&[Some("COPY".into())]);
        assert_eq!(
            w,
            "inherited variable `COPY` holds a secret's value; no service gets it"
        );
    }
}
