//! `GET /api/gate/PRODUCT`: the gate, asked by a pipeline. `200` when it is
//! open now, `423 Locked` when it is closed, with the same JSON either way
//! ([`crate::engine::gate_answer::Answer`]).

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::{AppState, error};
use crate::engine::Context;
use crate::engine::gate::GateKind;
use crate::engine::gate_answer::{Ask, answer};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GateQuery {
    #[serde(default)]
    action: Option<String>,
    #[serde(default)]
    rc: Option<u64>,
    #[serde(default)]
    require: Option<String>,
}

/// `GET /api/gate/PRODUCT?action=release|cut&rc=N&require=approved`
pub async fn gate(
    State(s): State<AppState>,
    Path(product): Path<String>,
    query: Result<Query<GateQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Query(q) = match query {
        Ok(q) => q,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!(
                    "{}; the parameters are `action`, `rc` and `require`",
                    e.body_text()
                ),
            );
        }
    };
    let config = &s.shared.config;
    let Some(product) = config.product(&product).map(|p| p.name.clone()) else {
        let names: Vec<&str> = config.products.iter().map(|p| p.name.as_str()).collect();
        return error(
            StatusCode::NOT_FOUND,
            format!(
                "no product `{product}`; the products are {}",
                names.join(", ")
            ),
        );
    };
    let kind = match q.action.as_deref() {
        None | Some("release") => GateKind::Release,
        Some("cut") => GateKind::Cut,
        Some(other) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("`action` is `release` or `cut`, not `{other}`"),
            );
        }
    };
    let require_approved = match q.require.as_deref() {
        None => false,
        Some("approved") => true,
        Some(other) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("`require` can only be `approved`, not `{other}`"),
            );
        }
    };
    let now = s.shared.clock.now();
    let rules = s.shared.rules.load();
    let state = s.shared.state.load();
    let ctx = Context {
        rules: &rules.set,
        team: &s.shared.team,
        now,
        seed: 0,
    };
    let a = answer(
        &ctx,
        &state,
        &product,
        Ask::Gate(kind),
        q.rc,
        require_approved,
        now,
    );
    let status = if a.open {
        StatusCode::OK
    } else {
        StatusCode::LOCKED
    };
    (status, axum::Json(a)).into_response()
}
