//! Finding an instance as an operator names it (its id, or SAGA:KEY), and
//! the definition it runs under.

use sqlx::PgPool;

use crate::config::{Config, SagaConfig};
use crate::model::saga::{Instance, InstanceRef};
use crate::store::saga as db;

pub(super) fn definition<'a>(config: &'a Config, name: &str) -> Option<&'a SagaConfig> {
    config.sagas.iter().find(|s| s.name == name)
}

/// The name of the step an instance is at.
pub(super) fn step_name(config: &Config, i: &Instance) -> String {
    definition(config, &i.saga)
        .and_then(|s| s.steps.get(i.step as usize))
        .map_or_else(|| format!("#{}", i.step), |s| s.name.clone())
}

/// The instance `r` names, or an error that says what there is instead.
pub(super) async fn find(
    config: &Config,
    pool: &PgPool,
    r: &InstanceRef,
) -> anyhow::Result<Instance> {
    match r {
        InstanceRef::Id(id) => db::get(pool, *id).await?.ok_or_else(|| {
            anyhow::anyhow!("there is no saga instance {id} — `outboxctl saga ls` lists them")
        }),
        InstanceRef::Key { saga, correlation } => {
            if let Some(i) = db::by_correlation(pool, saga, correlation).await? {
                return Ok(i);
            }
            if definition(config, saga).is_none() {
                let names: Vec<&str> = config.sagas.iter().map(|s| s.name.as_str()).collect();
                anyhow::bail!(
                    "there is no saga {saga:?} to find {correlation:?} in; the configuration \
                     declares: {} — write SAGA:KEY, e.g. {}:42",
                    if names.is_empty() {
                        "none".into()
                    } else {
                        names.join(", ")
                    },
                    names.first().unwrap_or(&"order")
                );
            }
            anyhow::bail!(
                "saga {saga} has no instance for the key {correlation:?} — `outboxctl saga ls \
                 --saga {saga}` lists its instances (an instance starts when its start message \
                 is consumed)"
            )
        }
    }
}
