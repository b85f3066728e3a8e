//! Minimal list diffs: turns an old and a new version of a keyed list into the
//! [`ListDiff`] operations that transform one into the other — removals, insertions and
//! in-place updates at indices — so a UI list (UITableView, RecyclerView, a virtualized
//! React list) animates exactly what changed and keeps its scroll position.
//!
//! Items keep their identity through [`Keyed::key`] (a message id, a cid). Items whose
//! relative order did not change stay in place (a longest increasing subsequence of the
//! survivors); only the others are removed and reinserted, so a channel jumping to the top
//! of the list is one remove and one insert, not a cascade.

use std::collections::HashMap;
use std::hash::Hash;

/// An item of a live list, identified by a stable key.
pub trait Keyed {
    /// The identity type.
    type Key: Eq + Hash + Clone;
    /// The item's identity (same item ⇒ same key, across versions).
    fn key(&self) -> Self::Key;
}

/// One change to a live list. Apply the operations of a batch in order; indices refer to
/// the list as it is after the previous operations of the batch.
///
/// Serialized (for the web SDK) as `{"type": "insert", "index": 3, "item": …}`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ListDiff<T> {
    /// Replace the whole list (always the first batch of a subscription).
    Reset {
        /// The full list.
        items: Vec<T>,
    },
    /// Insert `item` at `index` (shifting later items).
    Insert {
        /// Where.
        index: usize,
        /// The new item.
        item: T,
    },
    /// Replace the item at `index` (same key, new content).
    Update {
        /// Where.
        index: usize,
        /// The new content.
        item: T,
    },
    /// Remove the item at `index` (shifting later items).
    Remove {
        /// Where.
        index: usize,
    },
}

impl<T: Clone> ListDiff<T> {
    /// Applies a batch of diffs to `list` (what a UI adapter does).
    pub fn apply_all(list: &mut Vec<T>, diffs: &[ListDiff<T>]) {
        for diff in diffs {
            match diff {
                Self::Reset { items } => *list = items.clone(),
                Self::Insert { index, item } => list.insert(*index, item.clone()),
                Self::Update { index, item } => list[*index] = item.clone(),
                Self::Remove { index } => {
                    list.remove(*index);
                }
            }
        }
    }
}

/// The diffs turning `old` into `new`: removals (highest index first), then insertions and
/// updates in ascending index order. Empty when the lists are equal. Keys must be unique
/// within each list.
pub fn diff<T: Keyed + PartialEq + Clone>(old: &[T], new: &[T]) -> Vec<ListDiff<T>> {
    let new_pos: HashMap<T::Key, usize> = new
        .iter()
        .enumerate()
        .map(|(i, item)| (item.key(), i))
        .collect();
    // Survivors in old order, with their position in `new`.
    let survivors: Vec<(usize, usize)> = old
        .iter()
        .enumerate()
        .filter_map(|(i, item)| new_pos.get(&item.key()).map(|&j| (i, j)))
        .collect();
    let keep = longest_increasing(&survivors.iter().map(|&(_, j)| j).collect::<Vec<_>>());
    let mut kept_old = vec![false; old.len()];
    let mut kept_new = vec![false; new.len()];
    for &s in &keep {
        let (i, j) = survivors[s];
        kept_old[i] = true;
        kept_new[j] = true;
    }
    let mut out = Vec::new();
    for i in (0..old.len()).rev() {
        if !kept_old[i] {
            out.push(ListDiff::Remove { index: i });
        }
    }
    // After the removals the list holds exactly the kept items, in new order; walking
    // `new` in order inserts the rest at their final index.
    let old_by_key: HashMap<T::Key, &T> = keep
        .iter()
        .map(|&s| {
            let item = &old[survivors[s].0];
            (item.key(), item)
        })
        .collect();
    for (j, item) in new.iter().enumerate() {
        if kept_new[j] {
            if old_by_key.get(&item.key()).is_some_and(|o| *o != item) {
                out.push(ListDiff::Update {
                    index: j,
                    item: item.clone(),
                });
            }
        } else {
            out.push(ListDiff::Insert {
                index: j,
                item: item.clone(),
            });
        }
    }
    out
}

/// Indices (into `seq`) of one longest strictly increasing subsequence, ascending.
fn longest_increasing(seq: &[usize]) -> Vec<usize> {
    // Patience sorting: tails[k] = index of the smallest tail of an increasing run of k+1.
    let mut tails: Vec<usize> = Vec::new();
    let mut prev: Vec<Option<usize>> = vec![None; seq.len()];
    for (i, &v) in seq.iter().enumerate() {
        let k = tails.partition_point(|&t| seq[t] < v);
        prev[i] = k.checked_sub(1).map(|p| tails[p]);
        if k == tails.len() {
            tails.push(i);
        } else {
            tails[k] = i;
        }
    }
    let mut out = Vec::with_capacity(tails.len());
    let mut cur = tails.last().copied();
    while let Some(i) = cur {
        out.push(i);
        cur = prev[i];
    }
    out.reverse();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backoff::SplitMix64;

    #[derive(Debug, Clone, PartialEq)]
    struct Item(u32, u32);

    impl Keyed for Item {
        type Key = u32;
        fn key(&self) -> u32 {
            self.0
        }
    }

    fn items(keys: &[u32]) -> Vec<Item> {
        keys.iter().map(|&k| Item(k, 0)).collect()
    }

    #[test]
    fn a_channel_moving_to_the_top_is_one_remove_and_one_insert() {
        let old = items(&[1, 2, 3, 4]);
        let new = items(&[3, 1, 2, 4]);
        let d = diff(&old, &new);
        assert_eq!(
            d,
            vec![
                ListDiff::Remove { index: 2 },
                ListDiff::Insert {
                    index: 0,
                    item: Item(3, 0)
                }
            ]
        );
    }

    #[test]
    fn equal_lists_give_nothing_and_changed_content_is_an_update() {
        let old = items(&[1, 2, 3]);
        assert!(diff(&old, &old).is_empty());
        let mut new = old.clone();
        new[1].1 = 9;
        assert_eq!(
            diff(&old, &new),
            vec![ListDiff::Update {
                index: 1,
                item: Item(2, 9)
            }]
        );
    }

    #[test]
    fn appending_at_the_end_only_inserts() {
        let d = diff(&items(&[1, 2]), &items(&[1, 2, 3]));
        assert_eq!(
            d,
            vec![ListDiff::Insert {
                index: 2,
                item: Item(3, 0)
            }]
        );
    }

    #[test]
    fn random_lists_always_transform_exactly() {
        let mut rng = SplitMix64::new(7);
        for _ in 0..2000 {
            let gen_list = |rng: &mut SplitMix64| {
                let mut keys: Vec<u32> = (0..12)
                    .filter(|_| rng.next_u64().is_multiple_of(2))
                    .collect();
                // Shuffle a little.
                for i in (1..keys.len()).rev() {
                    if rng.next_u64().is_multiple_of(3) {
                        let j = (rng.next_u64() % (i as u64 + 1)) as usize;
                        keys.swap(i, j);
                    }
                }
                keys.iter()
                    .map(|&k| Item(k, (rng.next_u64() % 2) as u32))
                    .collect::<Vec<_>>()
            };
            let old = gen_list(&mut rng);
            let new = gen_list(&mut rng);
            let d = diff(&old, &new);
            let mut applied = old.clone();
            ListDiff::apply_all(&mut applied, &d);
            assert_eq!(applied, new, "{old:?} -> {new:?} via {d:?}");
            let moves = d
                .iter()
                .filter(|x| matches!(x, ListDiff::Insert { .. }))
                .count();
            assert!(moves <= new.len());
        }
    }
}
