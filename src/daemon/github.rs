//! shipgate as a GitHub App: it signs a JWT (RS256) with the App's private
//! key, exchanges it for an installation token (cached until shortly
//! before it expires), and answers deployment protection rules through
//! each deployment's callback URL. Answers the engine decided are sent
//! here after they are stored; each is reported back to the engine
//! ([`Event::DeploymentAnswered`]), so one not reported (a crash) is sent
//! again at start-up.
//!
//! JWT and token times come from the system clock, not the daemon's
//! [`super::clock::Clock`]: they are a protocol with GitHub's servers,
//! which check them against real time.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use tokio::sync::{Mutex, mpsc};
use tokio_util::sync::CancellationToken;

use super::shared::Shared;
use crate::config::{Config, GithubAppConfig};
use crate::engine::{DeploymentAnswer, Event};

/// A token is renewed this long before GitHub says it expires.
const TOKEN_MARGIN: Duration = Duration::from_secs(120);
/// Tries per answer before it is reported as failed.
const ATTEMPTS: u32 = 5;

#[derive(Debug, Serialize)]
struct Claims {
    iat: u64,
    exp: u64,
    iss: String,
}

#[derive(Debug, Deserialize)]
struct AccessToken {
    token: String,
    expires_at: String,
}

/// The App: its key, the API, and installation tokens.
pub struct GithubApp {
    app_id: u64,
    key: jsonwebtoken::EncodingKey,
    api_base: String,
    client: reqwest::Client,
    /// Installation id -> (token, when to stop using it).
    tokens: Mutex<HashMap<u64, (String, SystemTime)>>,
}

/// Why an answer did not go through, and whether trying again may help.
struct Failed {
    retry: bool,
    detail: String,
}

fn seconds(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

impl GithubApp {
    /// Reads the private key; an unreadable or invalid key stops start-up.
    pub fn new(config: &Config, app: &GithubAppConfig) -> Result<Self, String> {
        let pem = config
            .resolve(&app.private_key)
            .map_err(|e| format!("github_app.private_key: {e}"))?;
        let key = jsonwebtoken::EncodingKey::from_rsa_pem(pem.expose().as_bytes()).map_err(|e| {
            format!(
                "github_app.private_key: not an RSA private key in PEM form ({e}); use the `.pem` file GitHub generated for the App"
            )
        })?;
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .user_agent(concat!("shipgate/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("HTTP client: {e}"))?;
        Ok(Self {
            app_id: app.app_id,
            key,
            api_base: app.api_base().to_owned(),
            client,
            tokens: Mutex::new(HashMap::new()),
        })
    }

    /// The App's JWT: issued a minute in the past (clock drift, as GitHub
    /// advises), valid for nine minutes.
    fn jwt(&self) -> Result<String, String> {
        let now = seconds(SystemTime::now());
        let claims = Claims {
            iat: now.saturating_sub(60),
            exp: now + 9 * 60,
            iss: self.app_id.to_string(),
        };
        jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256),
            &claims,
            &self.key,
        )
        .map_err(|e| format!("cannot sign the App's JWT: {e}"))
    }

    /// An installation token, from the cache while it is good.
    async fn token(&self, installation: u64) -> Result<String, Failed> {
        let mut tokens = self.tokens.lock().await;
        if let Some((t, until)) = tokens.get(&installation)
            && SystemTime::now() < *until
        {
            return Ok(t.clone());
        }
        let jwt = self.jwt().map_err(|detail| Failed {
            retry: false,
            detail,
        })?;
        let url = format!(
            "{}/app/installations/{installation}/access_tokens",
            self.api_base
        );
        let resp = self
            .client
            .post(&url)
            .bearer_auth(jwt)
            .header("Accept", "application/vnd.github+json")
            .header("X-GitHub-Api-Version", "2022-11-28")
            .send()
            .await
            .map_err(|e| Failed {
                retry: true,
                detail: format!("POST {url}: {e}"),
            })?;
        let status = resp.status();
        if !status.is_success() {
            let body = resp.text().await.unwrap_or_default();
            return Err(Failed {
                retry: status.is_server_error(),
                detail: format!(
                    "GitHub refused an installation token ({status}): {}",
                    body.chars().take(300).collect::<String>()
                ),
            });
        }
        let t: AccessToken = resp.json().await.map_err(|e| Failed {
            retry: true,
            detail: format!("installation token: {e}"),
        })?;
        let expires = chrono::DateTime::parse_from_rfc3339(&t.expires_at)
            .ok()
            .and_then(|e| u64::try_from(e.timestamp()).ok())
            .map_or(SystemTime::now(), |s| UNIX_EPOCH + Duration::from_secs(s));
        let until = expires.checked_sub(TOKEN_MARGIN).unwrap_or(UNIX_EPOCH);
        tokens.insert(installation, (t.token.clone(), until));
        Ok(t.token)
    }

    /// Sends one answer through its callback URL.
    async fn send(&self, a: &DeploymentAnswer) -> Result<(), Failed> {
        let token = self.token(a.installation).await?;
        let resp = self
            .client
            .post(&a.callback_url)
            .header("Authorization", format!("token {token}"))
            .header("Accept", "application/vnd.github+json")
            .header("X-GitHub-Api-Version", "2022-11-28")
            .json(&serde_json::json!({
                "environment_name": a.environment,
                "state": if a.approved { "approved" } else { "rejected" },
                "comment": a.comment,
            }))
            .send()
            .await
            .map_err(|e| Failed {
                retry: true,
                detail: format!("POST {}: {e}", a.callback_url),
            })?;
        let status = resp.status();
        if status.is_success() {
            return Ok(());
        }
        if status == reqwest::StatusCode::UNAUTHORIZED {
            // A token revoked early: the next try gets a fresh one.
            self.tokens.lock().await.remove(&a.installation);
        }
        let body = resp.text().await.unwrap_or_default();
        Err(Failed {
            retry: status.is_server_error() || status == reqwest::StatusCode::UNAUTHORIZED,
            detail: format!(
                "GitHub answered {status}: {}",
                body.chars().take(300).collect::<String>()
            ),
        })
    }
}

/// Sends answers as the writer hands them over, and reports each.
pub async fn run(
    shared: Arc<Shared>,
    app: Arc<GithubApp>,
    mut rx: mpsc::UnboundedReceiver<DeploymentAnswer>,
    shutdown: CancellationToken,
) {
    loop {
        let a = tokio::select! {
            () = shutdown.cancelled() => break,
            r = rx.recv() => match r { Some(a) => a, None => break },
        };
        let mut wait = Duration::from_millis(500);
        let mut result = Ok(());
        for attempt in 1..=ATTEMPTS {
            result = app.send(&a).await;
            match &result {
                Ok(()) => break,
                Err(f) if f.retry && attempt < ATTEMPTS => {
                    tracing::warn!(id = %a.id, detail = %f.detail, "GitHub answer failed; trying again");
                    tokio::select! {
                        () = shutdown.cancelled() => return,
                        () = tokio::time::sleep(wait) => {}
                    }
                    wait *= 4;
                }
                Err(_) => break,
            }
        }
        let (ok, detail) = match result {
            Ok(()) => {
                tracing::info!(id = %a.id, approved = a.approved, "deployment answered on GitHub");
                (true, "answered".to_owned())
            }
            Err(f) => {
                tracing::warn!(id = %a.id, detail = %f.detail, "could not answer a deployment on GitHub");
                (false, f.detail)
            }
        };
        let nonce = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let event = Event::DeploymentAnswered {
            product: a.product.clone(),
            id: a.id.clone(),
            ok,
            detail,
        };
        if let Err(e) = shared
            .submit(vec![(format!("deployment-answer:{}:{nonce}", a.id), event)])
            .await
        {
            tracing::warn!(error = %e, "could not record a deployment answer");
        }
    }
}
