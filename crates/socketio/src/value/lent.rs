//! Binary values passed through serde without a copy. serde lends bytes as a slice
//! (`serialize_bytes`, `visit_borrowed_bytes`), so a [`Value::Binary`](super::Value::Binary) that
//! is serialized or read through serde would be copied on the other side. While it is lent
//! here, a reader of ours that is handed exactly its slice (same address, same length) takes
//! the shared bytes instead; anything else is copied as before.

use std::cell::RefCell;

use bytes::Bytes;

thread_local! {
    static LENT: RefCell<Option<Bytes>> = const { RefCell::new(None) };
}

/// Runs `f` with `bytes` lent. What was lent before is lent again afterwards, also when `f`
/// unwinds, so the slot never keeps bytes alive past the call.
pub(crate) fn lend<R>(bytes: &Bytes, f: impl FnOnce() -> R) -> R {
    /// Puts back what was lent before.
    struct Restore(Option<Option<Bytes>>);
    impl Drop for Restore {
        fn drop(&mut self) {
            if let Some(before) = self.0.take() {
                LENT.with(|lent| {
                    if let Ok(mut lent) = lent.try_borrow_mut() {
                        *lent = before;
                    }
                });
            }
        }
    }
    let _restore = Restore(LENT.with(|lent| {
        lent.try_borrow_mut()
            .map(|mut lent| lent.replace(bytes.clone()))
            .ok()
    }));
    f()
}

/// The lent bytes when `slice` is exactly them, else a copy of `slice`.
pub(crate) fn take_or_copy(slice: &[u8]) -> Bytes {
    let lent = LENT.with(|lent| match lent.try_borrow().as_deref() {
        Ok(Some(bytes)) if bytes.as_ptr() == slice.as_ptr() && bytes.len() == slice.len() => {
            Some(bytes.clone())
        }
        _ => None,
    });
    lent.unwrap_or_else(|| Bytes::copy_from_slice(slice))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exactly_the_lent_slice_is_taken_without_a_copy() {
        let bytes = Bytes::from(vec![1u8, 2, 3, 4]);
        lend(&bytes, || {
            assert_eq!(take_or_copy(&bytes).as_ptr(), bytes.as_ptr());
            // A part of it, or other bytes equal to it, are copied.
            let part = take_or_copy(bytes.get(1..).unwrap_or_default());
            assert_eq!(&part[..], &[2, 3, 4]);
            assert_ne!(part.as_ptr(), bytes.get(1..).unwrap_or_default().as_ptr());
            let same = vec![1u8, 2, 3, 4];
            assert_ne!(take_or_copy(&same).as_ptr(), same.as_ptr());
        });
        // Nothing is lent any more.
        assert_ne!(take_or_copy(&bytes).as_ptr(), bytes.as_ptr());
    }

    #[test]
    fn nothing_stays_lent_after_a_panic() {
        let bytes = Bytes::from(vec![9u8; 8]);
        let caught = std::panic::catch_unwind(|| lend(&bytes, || panic!("a Serialize panics")));
        assert!(caught.is_err());
        assert_ne!(take_or_copy(&bytes).as_ptr(), bytes.as_ptr());
    }

    #[test]
    fn lending_nests() {
        let outer = Bytes::from_static(b"outer");
        let inner = Bytes::from_static(b"inner");
        lend(&outer, || {
            lend(&inner, || {
                assert_eq!(take_or_copy(&inner).as_ptr(), inner.as_ptr());
            });
            assert_eq!(take_or_copy(&outer).as_ptr(), outer.as_ptr());
        });
    }
}
