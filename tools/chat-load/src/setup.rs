//! The workload's shape and its creation: users `u0…u{N-1}` spread evenly over channels
//! `team:load-0…load-{M-1}` (user `i` is a member of channel `i % M`), created through the
//! server-side REST API (HTTP Basic with the app's key and secret), and user tokens minted
//! with the app's secret as an app's backend does. With several nodes, the members of each
//! channel take the nodes in turn ([`Layout::node_of`]) and so do its messages
//! ([`Layout::send_node`]), so most pushes cross from one node to another.

use anyhow::{Context, bail};
use base64::Engine;
use chat_protocol::AppCredentials;
use chat_protocol::token::UserClaims;
use serde_json::{Value, json};

use crate::process::Target;

/// Most ids per upsert or member list (the server's limit).
const CHUNK: usize = 100;

/// N users over M channels.
#[derive(Debug, Clone, Copy)]
pub struct Layout {
    /// Number of users (one WebSocket each).
    pub users: usize,
    /// Number of channels.
    pub channels: usize,
}

impl Layout {
    /// The id of user `i`.
    pub fn user_id(i: usize) -> String {
        format!("u{i}")
    }

    /// The id (of type `team`) of channel `j`.
    pub fn channel_id(j: usize) -> String {
        format!("load-{j}")
    }

    /// The user indexes of channel `j`, oldest member (the creator) first.
    pub fn members(&self, j: usize) -> impl Iterator<Item = usize> + use<> {
        (j..self.users).step_by(self.channels.max(1))
    }

    /// The number of members of channel `j`.
    pub fn member_count(&self, j: usize) -> usize {
        self.members(j).count()
    }

    /// The `k`-th member of channel `j` (wrapping around), who sends its `k`-th message.
    pub fn sender(&self, j: usize, k: usize) -> usize {
        j + (k % self.member_count(j).max(1)) * self.channels
    }

    /// The node (of `nodes`) that holds user `i`'s socket: the `k`-th member of a channel
    /// (user `j + k·M`) is on node `k % nodes`, so every channel with at least `nodes`
    /// members has members on every node. (Plain `i % nodes` would put whole channels on
    /// one node whenever the channel count and the node count share a factor.)
    pub fn node_of(&self, i: usize, nodes: usize) -> usize {
        (i / self.channels.max(1)) % nodes.max(1)
    }

    /// The node (of `nodes`) the `k`-th message of channel `j` is sent through: each
    /// channel's messages take the nodes in turn, starting at a different node per channel.
    pub fn send_node(&self, j: usize, k: usize, nodes: usize) -> usize {
        (j + k) % nodes.max(1)
    }
}

/// A user token (HS256 with the app's secret) valid for `ttl_secs`.
pub fn user_token(app: &AppCredentials, user: &str, ttl_secs: i64) -> anyhow::Result<String> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs() as i64;
    let claims = UserClaims {
        sub: user.to_owned(),
        app: app.app_id.clone(),
        iat: now,
        exp: now + ttl_secs,
    };
    Ok(jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(app.api_secret.as_bytes()),
    )?)
}

/// The `Authorization` value of server-side calls.
pub fn basic_auth(app: &AppCredentials) -> String {
    let raw = format!("{}:{}", app.api_key, app.api_secret);
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

async fn post(
    http: &reqwest::Client,
    target: &Target,
    path: &str,
    body: Value,
) -> anyhow::Result<()> {
    let response = http
        .post(format!("{}{path}", target.base_url))
        .header("authorization", basic_auth(&target.app))
        .json(&body)
        .send()
        .await
        .with_context(|| format!("POST {path}"))?;
    let status = response.status();
    if !status.is_success() {
        let text = response.text().await.unwrap_or_default();
        bail!("POST {path}: {status} {text}");
    }
    Ok(())
}

/// Creates the users (100 per upsert) and the channels (the first member creates it with
/// up to 100 others; the rest are added 100 at a time).
pub async fn create(http: &reqwest::Client, target: &Target, layout: Layout) -> anyhow::Result<()> {
    let ids: Vec<String> = (0..layout.users).map(Layout::user_id).collect();
    for chunk in ids.chunks(CHUNK) {
        let users: Vec<Value> = chunk.iter().map(|id| json!({ "id": id })).collect();
        post(http, target, "/v1/users", json!({ "users": users })).await?;
    }
    for j in 0..layout.channels {
        let members: Vec<String> = layout.members(j).map(Layout::user_id).collect();
        let Some((creator, rest)) = members.split_first() else {
            continue;
        };
        let (initial, later) = rest.split_at(rest.len().min(CHUNK));
        let id = Layout::channel_id(j);
        let create = json!({
            "type": "team", "id": id, "created_by": creator, "members": initial,
        });
        post(http, target, "/v1/channels", create).await?;
        for chunk in later.chunks(CHUNK) {
            let add: Vec<Value> = chunk.iter().map(|u| json!({ "user_id": u })).collect();
            let path = format!("/v1/channels/team/{id}/members");
            post(http, target, &path, json!({ "members": add })).await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_are_spread_evenly_and_senders_are_members() {
        let l = Layout {
            users: 10_000,
            channels: 100,
        };
        assert!((0..100).all(|j| l.member_count(j) == 100));
        let all: std::collections::BTreeSet<usize> = (0..100).flat_map(|j| l.members(j)).collect();
        assert_eq!(all.len(), 10_000);
        for k in 0..250 {
            assert_eq!(l.sender(7, k) % 100, 7);
            assert!(l.sender(7, k) < 10_000);
        }
    }

    #[test]
    fn every_channel_has_members_and_sends_on_every_node() {
        // 4 channels, 2 nodes: `i % 2` would keep each channel on one node.
        let l = Layout {
            users: 40,
            channels: 4,
        };
        for j in 0..4 {
            let on: Vec<usize> = l.members(j).map(|i| l.node_of(i, 2)).collect();
            assert_eq!(
                on.iter().filter(|&&n| n == 0).count(),
                5,
                "channel {j}: {on:?}"
            );
            assert_eq!(
                on.iter().filter(|&&n| n == 1).count(),
                5,
                "channel {j}: {on:?}"
            );
            let sends: Vec<usize> = (0..4).map(|k| l.send_node(j, k, 2)).collect();
            assert!(sends.contains(&0) && sends.contains(&1));
        }
        let per_node = |n| (0..40).filter(|&i| l.node_of(i, 3) == n).count();
        assert_eq!((per_node(0), per_node(1), per_node(2)), (16, 12, 12));
        assert!((0..40).all(|i| l.node_of(i, 1) == 0 && l.send_node(i % 4, i, 1) == 0));
    }
}
