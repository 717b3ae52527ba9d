//! GitHub deliveries about deployments: `deployment_protection_rule`
//! (a deployment asks the gate) and `workflow_run` (a run ended, so a
//! deployment held for it is withdrawn). They arrive at `/hooks/github`,
//! signed and de-duplicated there like every other delivery.

use serde::Deserialize;

use crate::config::Config;
use crate::engine::{DeploymentRequest, Event};

#[derive(Debug, Deserialize)]
struct Repo {
    full_name: String,
}

#[derive(Debug, Deserialize)]
struct Installation {
    id: u64,
}

#[derive(Debug, Deserialize)]
struct Deployment {
    #[serde(default)]
    sha: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ProtectionRule {
    #[serde(default)]
    action: String,
    environment: String,
    deployment_callback_url: String,
    #[serde(default)]
    sha: Option<String>,
    #[serde(default)]
    deployment: Option<Deployment>,
    repository: Repo,
    installation: Option<Installation>,
}

#[derive(Debug, Deserialize)]
struct Run {
    id: u64,
}

#[derive(Debug, Deserialize)]
struct WorkflowRun {
    action: String,
    workflow_run: Run,
    repository: Repo,
}

/// The run id in `.../actions/runs/RUN/deployment_protection_rule`.
fn run_id(url: &str) -> Option<u64> {
    let mut parts = url.trim_end_matches('/').rsplit('/');
    let last = parts.next()?;
    if last != "deployment_protection_rule" {
        return None;
    }
    parts.next()?.parse().ok()
}

/// The engine events a deployment delivery means (may be none).
pub fn events(config: &Config, kind: &str, body: &[u8]) -> Result<Vec<Event>, String> {
    match kind {
        "deployment_protection_rule" => {
            let d: ProtectionRule = serde_json::from_slice(body)
                .map_err(|e| format!("not a deployment_protection_rule payload: {e}"))?;
            if d.action != "requested" {
                return Ok(Vec::new());
            }
            let Some(app) = &config.github_app else {
                return Err("a deployment protection rule needs the `github_app` section in shipgate's config, to answer it".to_owned());
            };
            let Some(product) = config.product_by_repo(&d.repository.full_name) else {
                tracing::warn!(repo = %d.repository.full_name, "a deployment of a repository no product lists; not answered");
                return Ok(Vec::new());
            };
            let Some(installation) = d.installation.map(|i| i.id) else {
                return Err("the delivery names no App installation".to_owned());
            };
            let Some(run_id) = run_id(&d.deployment_callback_url) else {
                return Err(format!(
                    "`deployment_callback_url` `{}` does not end in `/actions/runs/RUN/deployment_protection_rule`",
                    d.deployment_callback_url
                ));
            };
            let sha = d
                .sha
                .or(d.deployment.and_then(|x| x.sha))
                .unwrap_or_default();
            Ok(vec![Event::Deployment(DeploymentRequest {
                product: product.name.clone(),
                repo: d.repository.full_name,
                window: product.environments.get(&d.environment).cloned(),
                environment: d.environment,
                callback_url: d.deployment_callback_url,
                installation,
                run_id,
                sha,
                hold: product.hold_until_open,
                hold_max_secs: app.hold_max_secs,
            })])
        }
        "workflow_run" => {
            let w: WorkflowRun = serde_json::from_slice(body)
                .map_err(|e| format!("not a workflow_run payload: {e}"))?;
            if w.action != "completed" {
                return Ok(Vec::new());
            }
            let Some(product) = config.product_by_repo(&w.repository.full_name) else {
                return Ok(Vec::new());
            };
            Ok(vec![Event::DeploymentCancelled {
                product: product.name.clone(),
                run_id: w.workflow_run.id,
            }])
        }
        _ => Ok(Vec::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::run_id;

    #[test]
    fn run_ids() {
        assert_eq!(
            run_id(
                "https://api.github.com/repos/acme/web/actions/runs/42/deployment_protection_rule"
            ),
            Some(42)
        );
        assert_eq!(
            run_id(
                "https://api.github.com/repos/acme/web/actions/runs/x/deployment_protection_rule"
            ),
            None
        );
        assert_eq!(run_id("https://api.github.com/repos/acme/web"), None);
    }
}
