//! Where a service runs: the executor seam (docs/executors.md). `local` is a subprocess of
//! wfop's, sandboxed (engine/service.rs); `slurm` is a Slurm job step (`slurm.rs`) whose
//! secrets reach it on srun's stdin through the launcher (`launcher.rs`). The scheduler,
//! redaction, records and front ends do not know which one runs a node: a service's run
//! (engine/service.rs) asks [`Executors::placement`], and every executor gives it the same
//! two output streams, start, end and stop.

pub(crate) mod launcher;
pub(crate) mod slurm;
pub(crate) mod step;

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::workflow::{Node, NodeExecutor, Run, SlurmSettings, Workflow};

/// `wfop run --executor`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExecutorKind {
    /// Services are subprocesses of wfop's host (today's behaviour).
    #[default]
    Local,
    /// Services are Slurm job steps.
    Slurm,
}

/// The run's executor settings, from the command line (and carried to a run host as they are).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ExecutorOptions {
    /// Where a node without an `"executor"` of its own runs.
    #[serde(default)]
    pub kind: ExecutorKind,
    /// `--partition`, `--account`, `--qos`, `--slurm-arg`, `--slurm-own-jobs`.
    #[serde(default)]
    pub slurm: SlurmSettings,
    /// `--remote-workdir DIR`: where the services' private folders are made, on a file system
    /// the compute nodes see (default: `<state>/work`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_workdir: Option<PathBuf>,
    /// `--slurm-heartbeat`: how often a step says it is alive (default 10 s); a step silent
    /// for three of these (and 5 s more) is lost.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heartbeat_ms: Option<u64>,
}

/// How often a step says it is alive, unless `--slurm-heartbeat` says otherwise.
pub const DEFAULT_HEARTBEAT: Duration = Duration::from_secs(10);

impl ExecutorOptions {
    pub fn heartbeat(&self) -> Duration {
        self.heartbeat_ms
            .map(Duration::from_millis)
            .unwrap_or(DEFAULT_HEARTBEAT)
            .max(Duration::from_secs(1))
    }

    /// Where `node` runs, by its own `"executor"` and then the run's.
    pub fn placement(&self, node: &Node) -> Placement {
        if matches!(node.run, Some(Run::Hub(_)) | None) {
            return Placement::Local;
        }
        match (&node.executor, self.kind) {
            (NodeExecutor::Local, _) | (NodeExecutor::Run, ExecutorKind::Local) => Placement::Local,
            (NodeExecutor::Run, ExecutorKind::Slurm) => Placement::Slurm {
                settings: self.slurm.clone(),
                own_job: self.slurm.own_job,
            },
            (NodeExecutor::Slurm(own), _) => {
                let run = &self.slurm;
                let settings = SlurmSettings {
                    partition: own.partition.clone().or_else(|| run.partition.clone()),
                    account: own.account.clone().or_else(|| run.account.clone()),
                    qos: own.qos.clone().or_else(|| run.qos.clone()),
                    args: run.args.iter().chain(&own.args).cloned().collect(),
                    own_job: run.own_job || own.own_job,
                };
                Placement::Slurm {
                    own_job: settings.own_job || !own.fits_allocation(),
                    settings,
                }
            }
        }
    }

    /// Whether any service of `wf` runs on Slurm (then the run checks Slurm's commands and the
    /// remote work folder before it starts).
    pub fn uses_slurm(&self, wf: &Workflow) -> bool {
        wf.nodes
            .iter()
            .any(|n| matches!(self.placement(n), Placement::Slurm { .. }))
    }

    /// How many of `wf`'s services run as steps of the run's allocation.
    pub fn allocation_steps(&self, wf: &Workflow) -> usize {
        wf.nodes
            .iter()
            .filter(|n| matches!(self.placement(n), Placement::Slurm { own_job: false, .. }))
            .count()
    }
}

/// Where one service runs.
#[derive(Debug, Clone, PartialEq)]
pub enum Placement {
    Local,
    Slurm {
        settings: SlurmSettings,
        /// A job of its own (`srun` makes it) instead of a step in the run's allocation.
        own_job: bool,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(executor: NodeExecutor) -> Node {
        let mut n = Node::new("n".into(), 0..1, crate::workflow::NodeKind::Service, 0..1);
        n.run = Some(Run::Command {
            argv: vec!["true".into()],
            cwd: None,
            env: Default::default(),
        });
        n.executor = executor;
        n
    }

    #[test]
    fn a_node_runs_where_it_says_then_where_the_run_says() {
        let mut o = ExecutorOptions::default();
        assert_eq!(o.placement(&node(NodeExecutor::Run)), Placement::Local);
        o.kind = ExecutorKind::Slurm;
        o.slurm.partition = Some("batch".into());
        o.slurm.args = vec!["--time=5".into()];
        assert_eq!(
            o.placement(&node(NodeExecutor::Run)),
            Placement::Slurm {
                settings: o.slurm.clone(),
                own_job: false
            }
        );
        assert_eq!(o.placement(&node(NodeExecutor::Local)), Placement::Local);
        // A node's own settings override the run's, add their args, and need a job of their
        // own (the allocation has the run's partition).
        let own = SlurmSettings {
            partition: Some("gpu".into()),
            args: vec!["--gres=gpu:1".into()],
            ..Default::default()
        };
        let Placement::Slurm { settings, own_job } = o.placement(&node(NodeExecutor::Slurm(own)))
        else {
            panic!("slurm")
        };
        assert!(own_job);
        assert_eq!(settings.partition.as_deref(), Some("gpu"));
        assert_eq!(settings.args, ["--time=5", "--gres=gpu:1"]);
        // `"executor": "slurm"` with nothing of its own: a step of the allocation.
        assert_eq!(
            o.placement(&node(NodeExecutor::Slurm(SlurmSettings::default()))),
            Placement::Slurm {
                settings: o.slurm.clone(),
                own_job: false
            }
        );
    }

    #[test]
    fn the_heartbeat_is_at_least_a_second() {
        let mut o = ExecutorOptions::default();
        assert_eq!(o.heartbeat(), DEFAULT_HEARTBEAT);
        o.heartbeat_ms = Some(10);
        assert_eq!(o.heartbeat(), Duration::from_secs(1));
    }
}
