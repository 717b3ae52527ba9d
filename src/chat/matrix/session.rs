//! The bot's session: log in or restore the stored session, and make sure
//! the store, the credentials and `matrix.user` are one account and one
//! device.

use std::path::PathBuf;

use matrix_sdk::Client;
use matrix_sdk::authentication::matrix::MatrixSession;
use matrix_sdk::ruma::{OwnedDeviceId, OwnedUserId};

use std::time::Duration;

use matrix_sdk::config::RequestConfig;
use matrix_sdk::ruma::api::client::session::login;
use matrix_sdk::ruma::api::client::uiaa::{self, MatrixUserIdentifier, UserIdentifier};
use matrix_sdk::ruma::api::error::ErrorKind;

use super::err;
use crate::chat::health::Health;
use crate::config::{Config, MatrixConfig};

pub(super) fn session_file(store: &std::path::Path) -> PathBuf {
    store.join("session.json")
}

pub(super) fn token_session(
    user_id: OwnedUserId,
    device_id: OwnedDeviceId,
    token: &str,
) -> MatrixSession {
    MatrixSession {
        meta: matrix_sdk::SessionMeta { user_id, device_id },
        tokens: matrix_sdk::authentication::SessionTokens {
            access_token: token.to_owned(),
            refresh_token: None,
        },
    }
}

/// The stored session is the configured account's (`user` is a full user
/// id or a localpart).
pub(super) fn same_account(
    session: &MatrixSession,
    user: &str,
    store: &std::path::Path,
) -> Result<(), String> {
    let stored = &session.meta.user_id;
    let same = if user.starts_with('@') {
        stored.as_str() == user
    } else {
        stored.localpart() == user
    };
    if same {
        Ok(())
    } else {
        Err(format!(
            "matrix: the store {} holds the session and keys of {stored}, but the config's \
             `matrix.user` is {user}. A store belongs to one account: give this account its own \
             `store_dir`, or set `user` back to {stored}",
            store.display()
        ))
    }
}

/// Whether `id` is the configured `user` (a full user id or a localpart).
pub(super) fn is_user(id: &matrix_sdk::ruma::UserId, user: &str) -> bool {
    if user.starts_with('@') {
        id.as_str() == user
    } else {
        id.localpart() == user
    }
}

pub(super) fn another_account(who: &matrix_sdk::ruma::UserId, user: &str) -> String {
    format!(
        "matrix: the homeserver says the configured credentials are {who}, but the config's \
         `matrix.user` is {user}; give the bot's own password or access token, or set `user` \
         to {who}"
    )
}

/// A new access token may replace the stored one only for the same device
/// (the store's encryption keys are that device's).
pub(super) fn same_device(
    session: &MatrixSession,
    user: &OwnedUserId,
    device: &OwnedDeviceId,
    store: &std::path::Path,
) -> Result<(), String> {
    if &session.meta.user_id == user && &session.meta.device_id == device {
        return Ok(());
    }
    Err(format!(
        "matrix: the configured access token is device {device} of {user}, but the store {} \
         holds device {} of {}. A store belongs to one device: configure a token of device {}, \
         or move the store away to start as the new device (it then cannot read encrypted \
         messages sent before)",
        store.display(),
        session.meta.device_id,
        session.meta.user_id,
        session.meta.device_id,
    ))
}

/// Logs the client in: restores the stored session (a new `access_token`
/// of the same device replacing the stored one), or logs in with the
/// password, or uses the access token; then checks who the homeserver says
/// the bot is and saves the session.
pub(super) async fn log_in(
    client: &Client,
    config: &Config,
    m: &MatrixConfig,
    store: &std::path::Path,
    health: &Health,
) -> Result<(), String> {
    let file = session_file(store);
    // The password of a new login with it: the devices that login
    // replaces are logged out with it.
    let mut fresh_password = None;
    if let Ok(text) = std::fs::read_to_string(&file)
        && let Ok(mut session) = serde_json::from_str::<MatrixSession>(&text)
    {
        // The store (session and encryption keys) belongs to one
        // account and one device; the config decides which account.
        same_account(&session, &m.user, store)?;
        if let Some(p) = &m.password
            && m.access_token.is_none()
            && token_rejected(m, &session.tokens.access_token).await?
        {
            // Revoked or expired: a new login of the same device keeps the
            // store's encryption keys usable.
            let pw = config.resolve(p).map_err(|e| err("password", e))?;
            let device = session.meta.device_id.clone();
            let fresh = password_login(client, m, pw.expose(), Some(&device), health).await?;
            same_device(&session, &fresh.meta.user_id, &fresh.meta.device_id, store)?;
            session.tokens = fresh.tokens;
            tracing::warn!(
                device = %device,
                "matrix: the homeserver no longer accepts the stored access token (revoked or \
                 expired); logged in again with the password as the same device"
            );
        }
        if let Some(t) = &m.access_token {
            let token = config.resolve(t).map_err(|e| err("access token", e))?;
            if token.expose() != session.tokens.access_token {
                // A new token (rotated, or a new login): usable with
                // this store only if it is the same device's.
                let (user, device) = whoami(m, token.expose()).await?;
                same_device(&session, &user, &device, store)?;
                session.tokens.access_token = token.expose().to_owned();
                session.tokens.refresh_token = None;
                tracing::info!("matrix: the configured access token replaces the stored one");
            }
        }
        client
            .restore_session(session)
            .await
            .map_err(|e| err("cannot restore the stored session", e))?;
        tracing::info!("matrix: restored the stored session");
    } else if let Some(p) = &m.password {
        let pw = config.resolve(p).map_err(|e| err("password", e))?;
        let session = password_login(client, m, pw.expose(), None, health).await?;
        client
            .restore_session(session)
            .await
            .map_err(|e| err("cannot use the new login", e))?;
        fresh_password = Some(pw);
    } else if let Some(t) = &m.access_token {
        let token = config.resolve(t).map_err(|e| err("access token", e))?;
        let (user_id, device_id) = whoami(m, token.expose()).await?;
        // Before the store is made: it would belong to that account.
        if !is_user(&user_id, &m.user) {
            return Err(another_account(&user_id, &m.user));
        }
        client
            .restore_session(token_session(user_id, device_id, token.expose()))
            .await
            .map_err(|e| err("cannot use the access token", e))?;
    } else {
        return Err("matrix: give a password or an access_token".to_owned());
    }
    // Before the session is kept: credentials of another account never
    // make it into the store.
    check_identity(client, m).await?;
    if let Some(pw) = fresh_password {
        log_out_replaced(client, m, pw.expose()).await;
    }
    if let Some(session) = client.matrix_auth().session() {
        let json = serde_json::to_string(&session).map_err(|e| err("session", e))?;
        write_private(&file, &json).map_err(|e| err("cannot save the session", e))?;
    }
    Ok(())
}

/// The account the homeserver says the bot is logged in as must be
/// `matrix.user`, on every start.
pub(super) async fn check_identity(client: &Client, m: &MatrixConfig) -> Result<(), String> {
    let who = client
        .whoami()
        .await
        .map_err(|e| err("cannot ask the homeserver who the bot is (whoami)", e))?;
    if is_user(&who.user_id, &m.user) {
        Ok(())
    } else {
        Err(another_account(&who.user_id, &m.user))
    }
}

/// Whether the homeserver refuses `token` as unknown (`M_UNKNOWN_TOKEN`:
/// revoked, logged out, or expired, soft logout or not). Other failures
/// (unreachable, rate limited) are errors: they say nothing of the token.
pub(super) async fn token_rejected(m: &MatrixConfig, token: &str) -> Result<bool, String> {
    let probe = probe(m, token).await?;
    match probe.whoami().await {
        Ok(_) => Ok(false),
        Err(e) if is_unknown_token(e.client_api_error_kind()) => Ok(true),
        Err(e) => Err(err("cannot ask the homeserver who the bot is (whoami)", e)),
    }
}

/// `M_UNKNOWN_TOKEN`, with or without `soft_logout`.
pub(super) fn is_unknown_token(kind: Option<&ErrorKind>) -> bool {
    matches!(kind, Some(ErrorKind::UnknownToken { .. }))
}

/// A client without a store that presents `token`.
async fn probe(m: &MatrixConfig, token: &str) -> Result<Client, String> {
    let probe = Client::builder()
        .homeserver_url(&m.homeserver)
        .build()
        .await
        .map_err(|e| err("cannot create the client", e))?;
    let placeholder = token_session(
        OwnedUserId::try_from(m.user.as_str()).map_err(|e| err("user id", e))?,
        "PLACEHOLDER".into(),
        token,
    );
    probe
        .restore_session(placeholder)
        .await
        .map_err(|e| err("access token", e))?;
    Ok(probe)
}

/// Asks the homeserver which user and device an access token is.
pub(super) async fn whoami(
    m: &MatrixConfig,
    token: &str,
) -> Result<(OwnedUserId, OwnedDeviceId), String> {
    let probe = Client::builder()
        .homeserver_url(&m.homeserver)
        .build()
        .await
        .map_err(|e| err("cannot create the client", e))?;
    let placeholder = token_session(
        OwnedUserId::try_from(m.user.as_str()).map_err(|e| err("user id", e))?,
        "PLACEHOLDER".into(),
        token,
    );
    probe
        .restore_session(placeholder)
        .await
        .map_err(|e| err("access token", e))?;
    let who = probe
        .whoami()
        .await
        .map_err(|e| err("the access token is not accepted", e))?;
    let device = who
        .device_id
        .ok_or("matrix: the access token has no device; log in with a password once")?;
    Ok((who.user_id, device))
}

pub(super) fn write_private(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::io::Write as _;
        use std::os::unix::fs::OpenOptionsExt as _;
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .truncate(true)
            .write(true)
            .mode(0o600)
            .open(path)?;
        f.write_all(text.as_bytes())
    }
    #[cfg(not(unix))]
    {
        std::fs::write(path, text)
    }
}

/// How many times a rate-limited login is tried again before the start
/// gives up.
const LOGIN_TRIES: u32 = 10;

/// Logs in with the password: as `device` (a new access token for the
/// stored device, whose keys the store holds), or as a new device named
/// `device_name`. A `429`
/// is logged at WARN with the wait the homeserver asked for, counted, and
/// waited out (the HTTP client's own retries are off, so none is hidden).
async fn password_login(
    client: &Client,
    m: &MatrixConfig,
    password: &str,
    device: Option<&OwnedDeviceId>,
    health: &Health,
) -> Result<MatrixSession, String> {
    let mut attempt = 1;
    loop {
        let mut request =
            login::v3::Request::new(login::v3::LoginInfo::Password(login::v3::Password::new(
                UserIdentifier::Matrix(MatrixUserIdentifier::new(m.user.clone())),
                password.to_owned(),
            )));
        request.initial_device_display_name = Some(m.device_name.clone());
        request.device_id = device.cloned();
        let result = client
            .send(request)
            .with_request_config(
                RequestConfig::new()
                    .disable_retry()
                    .timeout(Duration::from_secs(30)),
            )
            .await;
        match result {
            Ok(r) => return Ok(token_session(r.user_id, r.device_id, &r.access_token)),
            Err(e) => {
                let Some(wait) = super::send::retry_after(e.client_api_error_kind()) else {
                    return Err(err("login failed", e));
                };
                health.login_rate_limited();
                if attempt >= LOGIN_TRIES {
                    return Err(format!(
                        "matrix: login failed: rate limited by the homeserver (429) {attempt} \
                         times in a row; exempt the bot (Synapse: the admin API's \
                         `override_ratelimit`) or start again later"
                    ));
                }
                tracing::warn!(
                    wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
                    attempt,
                    "matrix: login rate limited by the homeserver (429); retrying in {:.1} s",
                    wait.as_secs_f64()
                );
                tokio::time::sleep(wait).await;
                attempt += 1;
            }
        }
    }
}

/// What [`keep`] needs to log the bot in again while the daemon runs.
pub(super) struct Keeper {
    pub(super) config: Config,
    pub(super) inbound: tokio::sync::mpsc::Sender<crate::chat::inbound::ChatInput>,
    pub(super) shutdown: tokio_util::sync::CancellationToken,
    pub(super) health: std::sync::Arc<Health>,
    /// Shared with the adapter's sending, across logins.
    pub(super) threads: super::send::Threads,
    /// The client of the current login, which the adapter sends with.
    pub(super) current: std::sync::Arc<arc_swap::ArcSwap<Client>>,
    /// The sync loop of the current login: its stop token and task.
    pub(super) reader: (
        tokio_util::sync::CancellationToken,
        tokio::task::JoinHandle<()>,
    ),
}

/// The longest wait between two attempts to log in again.
const RELOGIN_MAX_WAIT: Duration = Duration::from_secs(60);

/// Watches the session while the daemon runs. When the homeserver refuses
/// the access token (`M_UNKNOWN_TOKEN`: revoked by an admin, logged out,
/// expired, soft logout or not) and a `password` is configured, stops the
/// sync loop, builds a new client on the same store and logs in again as
/// the same device (the stored session's `device_id`, so the encryption
/// keys in the store stay this device's), then swaps the adapter's client
/// and restarts the sync loop from the read positions stored in the
/// database (a message read twice is recorded once, by its event id).
/// matrix-sdk cannot give a running client a new access token, hence the
/// new client. Without a password the refusal is logged with what to do.
/// Ends at shutdown, after the sync loop.
pub(super) async fn keep(k: Keeper) {
    let Keeper {
        config,
        inbound,
        shutdown,
        health,
        threads,
        current,
        mut reader,
    } = k;
    let password = config.matrix.as_ref().and_then(|m| m.password.clone());
    loop {
        let mut changes = current.load().subscribe_to_session_changes();
        let soft_logout = loop {
            tokio::select! {
                () = shutdown.cancelled() => {
                    let _ = reader.1.await;
                    return;
                }
                c = changes.recv() => match c {
                    Ok(matrix_sdk::SessionChange::UnknownToken(d)) => break d.soft_logout,
                    Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => {
                        let _ = reader.1.await;
                        return;
                    }
                },
            }
        };
        if password.is_none() {
            tracing::error!(
                soft_logout,
                "matrix: the homeserver no longer accepts the bot's access token (revoked or \
                 expired); configure `matrix.password` so that shipgate logs in again by itself, \
                 or a new access token of the same device, and restart"
            );
            // The sync loop keeps trying (and `/readyz` says the homeserver
            // is failing) until someone acts.
            let _ = reader.1.await;
            return;
        }
        tracing::warn!(
            soft_logout,
            "matrix: the homeserver no longer accepts the bot's access token (revoked or \
             expired); logging in again with the password as the same device"
        );
        reader.0.cancel();
        let _ = (&mut reader.1).await;
        let mut wait = Duration::from_secs(1);
        loop {
            let wiring = super::Wiring {
                inbound: inbound.clone(),
                health: health.clone(),
                threads: threads.clone(),
            };
            match relogin(&config, wiring, &shutdown).await {
                Ok((client, next)) => {
                    tracing::info!(
                        device = %client.device_id().map(|d| d.to_string()).unwrap_or_default(),
                        "matrix: logged in again; the sync loop runs on the new login"
                    );
                    current.store(std::sync::Arc::new(client));
                    reader = next;
                    break;
                }
                Err(e) => {
                    tracing::warn!(error = %e, wait_s = wait.as_secs(), "matrix: logging in again failed; trying again");
                    tokio::select! {
                        () = shutdown.cancelled() => return,
                        () = tokio::time::sleep(wait) => {}
                    }
                    wait = (wait * 2).min(RELOGIN_MAX_WAIT);
                }
            }
        }
    }
}

/// One attempt at a new login of the same device and a new sync loop.
async fn relogin(
    config: &Config,
    wiring: super::Wiring,
    shutdown: &tokio_util::sync::CancellationToken,
) -> Result<
    (
        Client,
        (
            tokio_util::sync::CancellationToken,
            tokio::task::JoinHandle<()>,
        ),
    ),
    String,
> {
    // Where the inbound side has recorded the bot's reading up to.
    let cursors = crate::store::Store::open(&config.database)
        .and_then(|s| s.chat_cursors("matrix"))
        .map_err(|e| format!("matrix: cannot read the stored read positions: {e}"))?;
    let stop = shutdown.child_token();
    let (client, _rooms, task) = super::connect(config, wiring, stop.clone(), cursors).await?;
    Ok((client, (stop, task)))
}

/// After a new login with the password (the store was empty, so the
/// earlier device's keys are gone): logs out the account's other devices
/// named `device_name`, the ones this login replaces, so repeated
/// fresh-store starts do not pile up devices. Devices with another name
/// (people's own sessions, a device made by hand) are left alone. A
/// failure here is logged, not fatal.
async fn log_out_replaced(client: &Client, m: &MatrixConfig, password: &str) {
    let Some(me) = client.device_id().map(|d| d.to_owned()) else {
        return;
    };
    let devices = match client.devices().await {
        Ok(r) => r.devices,
        Err(e) => {
            tracing::warn!(error = %e, "matrix: cannot list the bot's devices; earlier devices stay logged in");
            return;
        }
    };
    let old = replaced(
        &me,
        &m.device_name,
        devices
            .iter()
            .map(|d| (&d.device_id, d.display_name.as_deref())),
    );
    if old.is_empty() {
        return;
    }
    let first = client.delete_devices(&old, None).await;
    let result = match first {
        Ok(_) => Ok(()),
        Err(e) => match e.as_uiaa_response() {
            Some(info) => {
                let mut auth = uiaa::Password::new(
                    UserIdentifier::Matrix(MatrixUserIdentifier::new(m.user.clone())),
                    password.to_owned(),
                );
                auth.session = info.session.clone();
                client
                    .delete_devices(&old, Some(uiaa::AuthData::Password(auth)))
                    .await
                    .map(|_| ())
            }
            None => Err(e),
        },
    };
    let names: Vec<&str> = old.iter().map(|d| d.as_str()).collect();
    match result {
        Ok(()) => tracing::info!(
            devices = %names.join(", "),
            "matrix: logged out the bot's earlier devices named {:?}, which this new login replaces",
            m.device_name
        ),
        Err(e) => tracing::warn!(
            devices = %names.join(", "),
            error = %e,
            "matrix: cannot log out the bot's earlier devices; remove them by hand"
        ),
    }
}

/// The devices a new login `me` replaces: the others named `name`.
fn replaced<'a>(
    me: &OwnedDeviceId,
    name: &str,
    devices: impl Iterator<Item = (&'a OwnedDeviceId, Option<&'a str>)>,
) -> Vec<OwnedDeviceId> {
    devices
        .filter(|(id, n)| *id != me && *n == Some(name))
        .map(|(id, _)| id.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(user: &str, device: &str) -> MatrixSession {
        token_session(user.try_into().unwrap(), device.into(), "t0")
    }

    #[test]
    fn a_store_serves_only_its_own_account() {
        let store = std::path::Path::new("/var/lib/shipgate/matrix");
        let s = stored("@shipgate:example.org", "DEV1");
        assert!(same_account(&s, "@shipgate:example.org", store).is_ok());
        assert!(same_account(&s, "shipgate", store).is_ok());
        let e = same_account(&s, "@releasebot:example.org", store).unwrap_err();
        assert!(
            e.contains("/var/lib/shipgate/matrix")
                && e.contains("@shipgate:example.org")
                && e.contains("@releasebot:example.org")
                && e.contains("store_dir"),
            "{e}"
        );
        assert!(same_account(&s, "releasebot", store).is_err());
        assert!(same_account(&s, "@shipgate:other.org", store).is_err());
    }

    #[test]
    fn a_new_token_must_be_the_stored_device() {
        let store = std::path::Path::new("store");
        let s = stored("@shipgate:example.org", "DEV1");
        let me: OwnedUserId = "@shipgate:example.org".try_into().unwrap();
        assert!(same_device(&s, &me, &"DEV1".into(), store).is_ok());
        let e = same_device(&s, &me, &"DEV2".into(), store).unwrap_err();
        assert!(
            e.contains("device DEV2") && e.contains("device DEV1"),
            "{e}"
        );
        let other: OwnedUserId = "@other:example.org".try_into().unwrap();
        assert!(same_device(&s, &other, &"DEV1".into(), store).is_err());
    }

    #[test]
    fn a_new_login_replaces_only_the_other_devices_of_its_name() {
        let me: OwnedDeviceId = "NEW".into();
        let (a, b, c): (OwnedDeviceId, OwnedDeviceId, OwnedDeviceId) =
            ("OLD1".into(), "PHONE".into(), "OLD2".into());
        let devices = [
            (&me, Some("shipgate")),
            (&a, Some("shipgate")),
            (&b, Some("Element on phone")),
            (&c, Some("shipgate")),
        ];
        assert_eq!(
            replaced(&me, "shipgate", devices.into_iter()),
            vec![a.clone(), c.clone()]
        );
        assert!(replaced(&me, "other", devices.into_iter()).is_empty());
    }
}
