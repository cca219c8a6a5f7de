//! Answers kept by key and asked of the source once, even when several threads want one at the
//! same moment: a second asker waits for the first one's answer instead of asking again.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

/// One key's answer, and the lock its asker holds while the source answers.
struct Slot<V> {
    value: OnceLock<V>,
    asking: Mutex<()>,
}

/// Answers by key. A failed ask keeps nothing: the next asker asks again.
pub(crate) struct Slots<K, V> {
    map: Mutex<HashMap<K, Arc<Slot<V>>>>,
}

impl<K, V> Default for Slots<K, V> {
    fn default() -> Self {
        Self {
            map: Mutex::default(),
        }
    }
}

impl<K: Eq + Hash + Clone, V: Clone> Slots<K, V> {
    /// The answer for `key` if one is kept; never waits for an ask under way.
    pub(crate) fn known(&self, key: &K) -> Option<V> {
        let slot = self
            .map
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(key)
            .cloned()?;
        slot.value.get().cloned()
    }

    /// The answer for `key`: kept, or waited for while another thread asks, or asked with `ask`.
    pub(crate) fn get_or_ask<E>(
        &self,
        key: &K,
        ask: impl FnOnce() -> Result<V, E>,
    ) -> Result<V, E> {
        let slot = Arc::clone(
            self.map
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .entry(key.clone())
                .or_insert_with(|| {
                    Arc::new(Slot {
                        value: OnceLock::new(),
                        asking: Mutex::new(()),
                    })
                }),
        );
        if let Some(value) = slot.value.get() {
            return Ok(value.clone());
        }
        let _asking = slot.asking.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(value) = slot.value.get() {
            return Ok(value.clone());
        }
        let value = ask()?;
        Ok(slot.value.get_or_init(|| value).clone())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    #[test]
    fn threads_asking_at_once_ask_once() {
        let slots: Slots<u32, u32> = Slots::default();
        let asked = AtomicUsize::new(0);
        std::thread::scope(|scope| {
            for _ in 0..4 {
                scope.spawn(|| {
                    let got = slots.get_or_ask(&1, || {
                        asked.fetch_add(1, Ordering::SeqCst);
                        std::thread::sleep(Duration::from_millis(50));
                        Ok::<_, ()>(7)
                    });
                    assert_eq!(got, Ok(7));
                });
            }
        });
        assert_eq!(asked.load(Ordering::SeqCst), 1);
        assert_eq!(slots.known(&1), Some(7));
        assert_eq!(slots.known(&2), None);
    }

    #[test]
    fn a_failed_ask_keeps_nothing() {
        let slots: Slots<u32, u32> = Slots::default();
        assert_eq!(slots.get_or_ask(&1, || Err("down")), Err("down"));
        assert_eq!(slots.known(&1), None);
        assert_eq!(slots.get_or_ask(&1, || Ok::<_, ()>(3)), Ok(3));
    }
}
