//! Values derived from the text of a repository-wide file (the KEP template, `OWNERS_ALIASES`),
//! kept per thread for the versions met lately. A run judges KEPs of many commits, and those
//! commits see a few dozen versions of such a file: each is parsed once, not once per KEP.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::thread::LocalKey;

/// The derived values of the texts met lately, oldest first.
pub struct ByText<T>(VecDeque<(String, T)>);

impl<T> ByText<T> {
    /// Versions kept: more than the corpus's 114 versions of `OWNERS_ALIASES` would be wasted.
    const KEPT: usize = 128;

    pub const fn new() -> ByText<T> {
        ByText(VecDeque::new())
    }
}

impl<T> Default for ByText<T> {
    fn default() -> Self {
        ByText::new()
    }
}

/// The value `make` derives from `text`, made once per text while it stays in `cache`.
pub fn by_text<T: Clone + 'static>(
    cache: &'static LocalKey<RefCell<ByText<T>>>,
    text: &str,
    make: impl FnOnce(&str) -> T,
) -> T {
    if let Some(hit) = cache.with_borrow(|c| {
        c.0.iter()
            .rev()
            .find(|(t, _)| t.len() == text.len() && t == text)
            .map(|(_, v)| v.clone())
    }) {
        return hit;
    }
    let value = make(text);
    cache.with_borrow_mut(|c| {
        if c.0.len() == ByText::<T>::KEPT {
            c.0.pop_front();
        }
        c.0.push_back((text.to_owned(), value.clone()));
    });
    value
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    thread_local! {
        static LENGTHS: RefCell<ByText<usize>> = const { RefCell::new(ByText::new()) };
    }

    #[test]
    fn each_text_is_derived_once_while_kept() {
        let made = Cell::new(0);
        let len = |t: &str| {
            made.set(made.get() + 1);
            t.len()
        };
        assert_eq!(by_text(&LENGTHS, "ab", len), 2);
        assert_eq!(by_text(&LENGTHS, "abc", len), 3);
        assert_eq!(by_text(&LENGTHS, "ab", len), 2);
        assert_eq!(made.get(), 2);
        // Same length, other text: derived anew.
        assert_eq!(by_text(&LENGTHS, "xy", len), 2);
        assert_eq!(made.get(), 3);
        // The oldest goes once the cache is full.
        for i in 0..ByText::<usize>::KEPT {
            by_text(&LENGTHS, &format!("t{i}"), len);
        }
        let before = made.get();
        by_text(&LENGTHS, "ab", len);
        assert_eq!(made.get(), before + 1);
    }
}
