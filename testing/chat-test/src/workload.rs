//! A deterministic random workload of REST writes by the members of a channel.
//!
//! Rules: the sequence of writes is a function of the seed alone ([`Rng`] is a fixed LCG,
//! never the system's randomness), so a failing seed replays; sends must succeed, other
//! writes may be refused (a reaction on a deleted message, say) and are not asserted: the
//! tests check the end state against the server, not each write.

use std::collections::BTreeMap;

use serde_json::json;

use crate::{Api, new_id};

/// A deterministic pseudo-random sequence.
pub struct Rng(pub u64);

impl Rng {
    /// A number below `n`.
    pub fn below(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) as usize) % n.max(1)
    }
}

/// One random write by a member of `cid`; `ids` holds (message id, author, top-level).
pub async fn random_write(
    rng: &mut Rng,
    apis: &BTreeMap<&str, Api>,
    who: &[&str],
    cid: &str,
    ids: &mut Vec<(String, String, bool)>,
    round: usize,
) {
    let actor = who[rng.below(who.len())];
    let api = &apis[actor];
    let bob_is_member = who.contains(&"bob");
    let mention: &[&str] = if bob_is_member && rng.below(2) == 0 {
        &["bob"]
    } else {
        &[]
    };
    let pick = (!ids.is_empty()).then(|| ids[rng.below(ids.len())].clone());
    match (rng.below(12), pick) {
        (0..=2, _) | (_, None) => {
            let m = api
                .send_full(cid, &new_id(), &format!("{actor} r{round}"), None, mention)
                .await;
            ids.push((m["id"].as_str().unwrap().into(), actor.into(), true));
        }
        (3 | 4, Some((id, _, true))) => {
            let m = api
                .send_full(
                    cid,
                    &new_id(),
                    &format!("reply by {actor}"),
                    Some(&id),
                    mention,
                )
                .await;
            ids.push((m["id"].as_str().unwrap().into(), actor.into(), false));
        }
        (5, Some((id, author, _))) => {
            // edits move the mention flag
            let body = json!({"text": format!("edited r{round}"), "mentioned_users": mention});
            apis[author.as_str()]
                .patch(&format!("/v1/messages/{id}"), body)
                .await;
        }
        (6 | 7, Some((id, _, _))) => {
            let kind = ["like", "+1"][rng.below(2)];
            api.post(
                &format!("/v1/messages/{id}/reactions"),
                json!({"type": kind}),
            )
            .await;
        }
        (8, Some((id, _, _))) => {
            api.delete(&format!("/v1/messages/{id}/reactions/like"))
                .await;
        }
        (9, Some((id, author, _))) => {
            apis[author.as_str()]
                .delete(&format!("/v1/messages/{id}"))
                .await;
        }
        (10, Some((id, _, _))) if rng.below(2) == 0 => {
            // mark read up to a random message (often not the newest)
            let path = format!("/v1/channels/{}/read", cid.replace(':', "/"));
            api.post(&path, json!({"message_id": id})).await;
        }
        (_, Some((id, _, _))) => {
            // stars are private: only bob's show up in his replica
            let star = format!("/v1/messages/{id}/star");
            let _ = if rng.below(2) == 0 {
                apis["bob"].post(&star, json!({})).await
            } else {
                apis["bob"].delete(&star).await
            };
        }
    }
}
