//! `[[sagas]]` and `[orchestrator]`: multi-step workflows with compensation,
//! as declared, and where the orchestrator takes its messages from.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// One `[[sagas]]` entry: a workflow started by a message, whose steps are
/// commands answered by replies, undone in reverse when a step fails.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SagaConfig {
    /// Unique; part of its reply and time-out topics (`saga.<name>.reply`).
    pub name: String,
    /// The topic whose messages start an instance.
    pub start: String,
    /// The start payload's field naming the instance: one per value.
    pub correlate: String,
    /// An instance still running after this long compensates.
    #[serde(with = "humantime_serde")]
    pub deadline: Duration,
    pub steps: Vec<StepConfig>,
    /// Steps renamed since instances in flight started: their commands,
    /// replies and time-outs under the old name reach the new step.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub renamed: Vec<Renamed>,
}

/// A step's old name and its new one (`[[sagas.renamed]]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Renamed {
    pub from: String,
    pub to: String,
}

/// One step of a saga.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepConfig {
    pub name: String,
    /// The topic its command goes out on; a handler or any service answers.
    pub command: String,
    /// The topic that undoes it, if anything must be undone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compensation: Option<String>,
    /// No reply after this long: the command (or compensation) is sent again.
    #[serde(default = "StepConfig::default_timeout", with = "humantime_serde")]
    pub timeout: Duration,
    /// How often it is sent again after a time-out (a compensation: after a
    /// failure too) before the saga compensates (or fails).
    #[serde(default)]
    pub retries: u32,
}

impl StepConfig {
    fn default_timeout() -> Duration {
        Duration::from_secs(30)
    }

    fn new(name: &str, command: &str, compensation: Option<&str>) -> Self {
        Self {
            name: name.into(),
            command: command.into(),
            compensation: compensation.map(str::to_string),
            timeout: Self::default_timeout(),
            retries: 2,
        }
    }
}

impl SagaConfig {
    /// The version of this definition: the first 16 hex digits of the
    /// SHA-256 of it as JSON. An instance keeps the one it started under.
    pub fn version(&self) -> String {
        use sha2::{Digest, Sha256};
        let json = serde_json::to_vec(self).expect("a saga definition serialises");
        hex::encode(&Sha256::digest(&json)[..8])
    }

    /// The step named `name` now: itself, or what it was renamed to.
    pub fn current_name<'a>(&'a self, name: &'a str) -> &'a str {
        self.renamed
            .iter()
            .find(|r| r.from == name)
            .map_or(name, |r| r.to.as_str())
    }

    /// The index of the step named `name` (or renamed from it).
    pub fn step_index(&self, name: &str) -> Option<usize> {
        let name = self.current_name(name);
        self.steps.iter().position(|s| s.name == name)
    }

    /// The topic its replies come back on.
    pub fn reply_topic(&self) -> String {
        format!("saga.{}.reply", self.name)
    }

    /// The topic its time-outs arrive on.
    pub fn timeout_topic(&self) -> String {
        format!("saga.{}.timeout", self.name)
    }

    /// The upload example: inspect → thumbnail → publish; a failure rejects
    /// the upload (and removes its thumbnail).
    pub fn upload_example() -> Self {
        Self {
            name: "upload".into(),
            start: "upload.created".into(),
            correlate: "upload_id".into(),
            deadline: Duration::from_secs(600),
            steps: vec![
                StepConfig::new("inspect", "upload.inspect", Some("upload.reject")),
                StepConfig::new(
                    "thumbnail",
                    "upload.thumbnail",
                    Some("upload.thumbnail.remove"),
                ),
                StepConfig::new("publish", "upload.publish", None),
            ],
            renamed: Vec::new(),
        }
    }
}

/// `outboxctl saga run`: where it takes starts, replies and time-outs.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OrchestratorConfig {
    /// One of broker.queues; bound to every saga's start, reply and time-out
    /// topics.
    pub queue: String,
}

impl Default for OrchestratorConfig {
    fn default() -> Self {
        Self {
            queue: "sagas".into(),
        }
    }
}
