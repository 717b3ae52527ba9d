//! The one read-only JSON client the chat checks share: `GET` a path under
//! a base URL with an `Authorization` header, answer the status and body.

use serde_json::Value;

pub struct Api {
    http: reqwest::Client,
    base: String,
    authorization: String,
}

impl Api {
    /// `base` without a trailing `/`; `authorization` the whole header value
    /// (`Bot ...`, `Bearer ...`), or empty for none.
    pub fn new(http: reqwest::Client, base: String, authorization: String) -> Self {
        Self {
            http,
            base,
            authorization,
        }
    }

    pub fn set_authorization(&mut self, authorization: String) {
        self.authorization = authorization;
    }

    /// The status and the JSON body (`null` when the body is not JSON).
    pub async fn get(&self, path: &str) -> Result<(u16, Value), String> {
        let mut req = self.http.get(format!("{}{path}", self.base));
        if !self.authorization.is_empty() {
            req = req.header("Authorization", &self.authorization);
        }
        let resp = req
            .send()
            .await
            .map_err(|e| format!("cannot reach {}: {e}", self.base))?;
        let status = resp.status().as_u16();
        Ok((status, resp.json::<Value>().await.unwrap_or(Value::Null)))
    }
}
