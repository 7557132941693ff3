//! One service's Slurm step as its run (engine/service.rs) waits for it: queued until the
//! launcher says it started (queue time is not the node's `timeout`), then running, watched by
//! its heartbeat; stopped with `scancel --signal=TERM` and then `scancel`; and ended by what the
//! launcher said of the service's exit, read from stderr after srun ended. A step that ends
//! without that word, or goes silent, is lost: a failure that says so.

use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::sync::Arc;
use std::time::Duration;

use tokio::process::Child;
use tokio::sync::{mpsc, watch};

use super::launcher::Msg;
use super::slurm::{Cluster, SRUN_END, StepNews, Target};
use crate::engine::event::{Attempt, Event};
use crate::engine::lifecycle::Stop;
use crate::engine::service::{Ending, Stopping, send, wait_level};
use crate::human::{self, Form};

/// How often the queue is asked for a job's id while it waits.
const ASK_QUEUE: Duration = Duration::from_secs(2);

pub(crate) struct SlurmStep {
    pub cluster: Arc<Cluster>,
    /// The job's (own job) or step's name: `wfop-<run>-<node>`.
    pub name: String,
    pub own_job: bool,
    /// The job id: the allocation's, or (own job) once the queue names it.
    pub job: Option<String>,
    /// The launcher's control lines, from srun's stderr (the sender goes to its reader).
    pub msgs: (
        Option<mpsc::UnboundedSender<Msg>>,
        mpsc::UnboundedReceiver<Msg>,
    ),
    pub news: StepNews,
}

impl SlurmStep {
    /// Waits for the step's end: queued, started (then `timeout` counts), stopped on a cancel,
    /// or lost when its heartbeat stops. What srun's exit means is [`SlurmStep::settle`]'s.
    pub(crate) async fn wait(
        &mut self,
        srun: &mut Child,
        (node, attempt): (&Arc<str>, Attempt),
        timeout: Option<Duration>,
        who: &Stopping<'_>,
        cancel: &mut watch::Receiver<Stop>,
    ) -> Ending {
        let mut open = true;
        let mut ask = self.own_job && self.job.is_none();
        let mut asked = tokio::time::interval(ASK_QUEUE);
        asked.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // Queued: until the launcher's `started`.
        while self.news.started.is_none() {
            tokio::select! {
                m = self.msgs.1.recv(), if open => match m {
                    Some(m) => self.news.take(m),
                    None => open = false,
                },
                st = srun.wait() => return Ending::Exited(status(st)),
                _ = wait_level(cancel, Stop::Cancel) => {
                    return Ending::Cancelled(self.stop_queued(srun, who).await);
                }
                _ = asked.tick(), if ask => {
                    if let Some(job) = self.cluster.job_of(&self.name).await {
                        ask = false;
                        self.job = Some(job.clone());
                        send(who.events, queued(node, attempt, Some(job))).await;
                    }
                }
            }
        }
        send(
            who.events,
            Event::NodeStarted {
                node: node.clone(),
                attempt,
                pid: None,
            },
        )
        .await;
        let started = tokio::time::Instant::now();
        let deadline = timeout.map(|d| started + d);
        let heartbeat = self.cluster.opts.heartbeat();
        let silent_for = heartbeat * 3 + Duration::from_secs(5);
        loop {
            let heard = self
                .news
                .last_word
                .map_or(started, tokio::time::Instant::from_std);
            tokio::select! {
                m = self.msgs.1.recv(), if open => match m {
                    Some(m) => self.news.take(m),
                    None => open = false,
                },
                st = srun.wait() => return Ending::Exited(status(st)),
                _ = sleep_until(deadline) => {
                    return Ending::TimedOut(self.stop_running(srun, who, cancel).await);
                }
                _ = wait_level(cancel, Stop::Cancel) => {
                    return Ending::Cancelled(self.stop_running(srun, who, cancel).await);
                }
                _ = tokio::time::sleep_until(heard + silent_for) => {
                    let step = self.step_id();
                    let _ = self.cluster.scancel(Target::Id(&step), Some("KILL")).await;
                    let _ = self.cluster.scancel(Target::Id(&self.job_or_step()), None).await;
                    end_srun(srun).await;
                    return Ending::Lost(format!(
                        "lost: Slurm step {step} said nothing for {} (its heartbeat comes every {}); it was cancelled",
                        human::duration(silent_for, Form::Exact),
                        human::duration(heartbeat, Form::Exact),
                    ));
                }
            }
        }
    }

    /// After srun ended and its stderr was read to the end: how the service ended, by what its
    /// launcher said.
    pub(crate) fn settle(&mut self, ending: Ending) -> Ending {
        while let Ok(m) = self.msgs.1.try_recv() {
            self.news.take(m);
        }
        let said = self.news.exit.map(exit_status);
        match ending {
            Ending::Exited(srun) => match (said, &self.news.error, &self.news.started) {
                (Some(st), _, _) => Ending::Exited(st),
                (None, Some(e), _) => Ending::Lost(format!(
                    "the Slurm launcher could not start the service: {e}"
                )),
                (None, None, None) => Ending::Lost(format!(
                    "srun ended ({}) before the service started on a compute node; its stderr says why",
                    describe(srun)
                )),
                (None, None, Some(step)) => Ending::Lost(format!(
                    "lost: Slurm step {step} ended without its launcher's exit status (srun: {}); the service's output may be cut short",
                    describe(srun)
                )),
            },
            Ending::TimedOut(st) => Ending::TimedOut(said.unwrap_or(st)),
            Ending::Cancelled(st) => Ending::Cancelled(said.unwrap_or(st)),
            lost @ Ending::Lost(_) => lost,
        }
    }

    /// `<job>.<step>` as the launcher said it (or the job's first step, a job of its own).
    fn step_id(&self) -> String {
        match (&self.news.started, &self.job) {
            (Some(s), _) if !s.starts_with('.') && !s.ends_with('.') => s.clone(),
            (_, Some(j)) if self.own_job => format!("{j}.0"),
            (_, Some(j)) => j.clone(),
            _ => String::new(),
        }
    }

    /// What the last `scancel` of a stop cancels: a job of its own whole, else the step.
    fn job_or_step(&self) -> String {
        let step = self.step_id();
        match self.own_job {
            true => step.split('.').next().unwrap_or_default().to_string(),
            false => step,
        }
    }

    /// A stop before the step ran: a job of its own is cancelled by its name (killing srun
    /// would leave it queued, to start later); a step not yet made ends with its srun.
    async fn stop_queued(&mut self, srun: &mut Child, who: &Stopping<'_>) -> ExitStatus {
        who.told(Duration::ZERO).await;
        if self.own_job
            && let Err(e) = self.cluster.scancel(Target::Name(&self.name), None).await
        {
            warn(who, &e).await;
        }
        if let Some(pid) = srun
            .id()
            .and_then(|p| i32::try_from(p).ok())
            .and_then(rustix::process::Pid::from_raw)
        {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        }
        end_srun(srun).await
    }

    /// `scancel --signal=TERM` to the step, then (after the grace, or at once on a forced
    /// stop) `scancel` of the step or the job.
    async fn stop_running(
        &mut self,
        srun: &mut Child,
        who: &Stopping<'_>,
        cancel: &mut watch::Receiver<Stop>,
    ) -> ExitStatus {
        let step = self.step_id();
        let mut forced = *cancel.borrow() >= Stop::Kill;
        if !forced {
            if let Err(e) = self.cluster.scancel(Target::Id(&step), Some("TERM")).await {
                warn(who, &e).await;
            }
            who.told(who.grace).await;
            tokio::select! {
                st = srun.wait() => return status(st),
                _ = tokio::time::sleep(who.grace) => who.killed().await,
                _ = wait_level(cancel, Stop::Kill) => forced = true,
            }
        }
        if forced {
            who.told(Duration::ZERO).await;
        }
        let _ = self.cluster.scancel(Target::Id(&step), Some("KILL")).await;
        if let Err(e) = self
            .cluster
            .scancel(Target::Id(&self.job_or_step()), None)
            .await
        {
            warn(who, &e).await;
        }
        end_srun(srun).await
    }
}

/// `NodeQueued` for a service on Slurm (`job`: the job id once known).
pub(crate) fn queued(node: &Arc<str>, attempt: Attempt, job: Option<String>) -> Event {
    Event::NodeQueued {
        node: node.clone(),
        attempt,
        executor: "slurm".into(),
        job,
    }
}

async fn warn(who: &Stopping<'_>, e: &str) {
    send(
        who.events,
        Event::Warning {
            node: Some(who.node.clone()),
            message: format!("cannot stop the Slurm step: {e}"),
        },
    )
    .await;
}

/// Waits for srun to end after its step was cancelled; kills it if it does not.
async fn end_srun(srun: &mut Child) -> ExitStatus {
    match tokio::time::timeout(SRUN_END, srun.wait()).await {
        Ok(st) => status(st),
        Err(_) => {
            let _ = srun.start_kill();
            status(srun.wait().await)
        }
    }
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

fn status(st: std::io::Result<ExitStatus>) -> ExitStatus {
    st.unwrap_or_else(|_| ExitStatus::from_raw(rustix::process::Signal::KILL.as_raw()))
}

/// The launcher's `exit N` as an exit status: the shell's 128 + N for a service killed by
/// signal N.
pub(crate) fn exit_status(code: i32) -> ExitStatus {
    match code {
        129..=192 => ExitStatus::from_raw(code - 128),
        c => ExitStatus::from_raw((c & 0xff) << 8),
    }
}

fn describe(st: ExitStatus) -> String {
    match (st.code(), st.signal()) {
        (Some(c), _) => format!("exit code {c}"),
        (_, Some(s)) => format!("signal {s}"),
        _ => "no status".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_launchers_exit_status_reads_as_the_services() {
        assert_eq!(exit_status(0).code(), Some(0));
        assert!(exit_status(0).success());
        assert_eq!(exit_status(3).code(), Some(3));
        assert_eq!(exit_status(143).signal(), Some(15));
        assert_eq!(exit_status(137).signal(), Some(9));
        assert_eq!(exit_status(255).code(), Some(255));
    }
}
