//! CI actions: when an RC is cut or a release approved, run the product's
//! configured command or HTTP POST, and report the result to the engine.
//! Actions not reported done (a crash) are run again at start-up; each
//! carries a stable id (`SHIPGATE_ACTION_ID`) so CI can ignore a repeat.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::shared::Shared;
use crate::config::Action;
use crate::engine::{ActionKind, ActionRun, Event};

/// At most this much of a command's output is kept.
const OUTPUT_LIMIT: usize = 2000;

fn tail(bytes: &[u8]) -> String {
    let s = String::from_utf8_lossy(bytes);
    let s = s.trim();
    if s.len() <= OUTPUT_LIMIT {
        return s.to_owned();
    }
    let mut start = s.len() - OUTPUT_LIMIT;
    while !s.is_char_boundary(start) {
        start += 1;
    }
    format!("…{}", &s[start..])
}

/// Runs one action; `(ok, detail)`.
pub async fn execute(shared: &Shared, action: &Action, run: &ActionRun) -> (bool, String) {
    let kind = match run.kind {
        ActionKind::Cut => "cut",
        ActionKind::Release => "release",
    };
    let timeout = Duration::from_secs(action.timeout_secs().max(1));
    match action {
        Action::Command { program, args, .. } => {
            let mut cmd = tokio::process::Command::new(program);
            cmd.args(args)
                .current_dir(shared.config().base_dir())
                .env("SHIPGATE_ACTION", kind)
                .env("SHIPGATE_ACTION_ID", &run.id)
                .env("SHIPGATE_PRODUCT", &run.product)
                .env("SHIPGATE_RC", run.rc.to_string())
                .env("SHIPGATE_CHANGES", run.changes.join(" "))
                .env("SHIPGATE_MANAGER", &run.manager)
                .stdin(std::process::Stdio::null())
                .kill_on_drop(true);
            match tokio::time::timeout(timeout, cmd.output()).await {
                Err(_) => (
                    false,
                    format!("`{program}` timed out after {}s", timeout.as_secs()),
                ),
                Ok(Err(e)) => (false, format!("could not start `{program}`: {e}")),
                Ok(Ok(out)) => {
                    let text = tail(&[out.stdout.as_slice(), out.stderr.as_slice()].concat());
                    if out.status.success() {
                        (true, text)
                    } else {
                        (
                            false,
                            format!("`{program}` exited with {}: {text}", out.status),
                        )
                    }
                }
            }
        }
        Action::Http {
            url,
            headers,
            secret_headers,
            ..
        } => {
            let client = match reqwest::Client::builder().timeout(timeout).build() {
                Ok(c) => c,
                Err(e) => return (false, format!("HTTP client: {e}")),
            };
            let mut req = client.post(url).json(&serde_json::json!({
                "id": run.id,
                "action": kind,
                "product": run.product,
                "rc": run.rc,
                "changes": run.changes,
                "manager": run.manager,
            }));
            for (k, v) in headers {
                req = req.header(k, v);
            }
            for (k, s) in secret_headers {
                match shared.config().resolve(s) {
                    Ok(v) => req = req.header(k, v.expose()),
                    Err(e) => return (false, format!("secret for header `{k}`: {e}")),
                }
            }
            match req.send().await {
                Err(e) => (false, format!("POST {url}: {e}")),
                Ok(resp) => {
                    let status = resp.status();
                    let body = resp.bytes().await.map(|b| tail(&b)).unwrap_or_default();
                    if status.is_success() {
                        (true, format!("{status}"))
                    } else {
                        (false, format!("POST {url} answered {status}: {body}"))
                    }
                }
            }
        }
    }
}

/// Runs actions as the writer asks for them; reports each result back.
pub async fn run(
    shared: Arc<Shared>,
    mut rx: mpsc::UnboundedReceiver<ActionRun>,
    shutdown: CancellationToken,
) {
    loop {
        let run = tokio::select! {
            () = shutdown.cancelled() => break,
            r = rx.recv() => match r { Some(r) => r, None => break },
        };
        let action = shared
            .config()
            .product(&run.product)
            .and_then(|p| match run.kind {
                ActionKind::Cut => p.actions.on_cut.clone(),
                ActionKind::Release => p.actions.on_release.clone(),
            });
        let (ok, detail) = match &action {
            Some(a) => execute(&shared, a, &run).await,
            None => (true, "no action configured".to_owned()),
        };
        if ok {
            tracing::info!(id = %run.id, %detail, "CI action done");
        } else {
            tracing::warn!(id = %run.id, %detail, "CI action failed");
        }
        let event = Event::ActionDone {
            product: run.product.clone(),
            id: run.id.clone(),
            ok,
            detail,
        };
        if let Err(e) = shared
            .submit(vec![(format!("action:{}", run.id), event)])
            .await
        {
            tracing::warn!(error = %e, "could not record an action result");
        }
    }
}
