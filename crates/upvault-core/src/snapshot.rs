//! Read scopes: a stretch of work on one thread whose reads may share one snapshot.
//!
//! With SQLite every read transaction takes and drops a lock on the WAL index (a system call
//! each way, under a mutex the whole process shares), and most requests read twice: their
//! token, then their file. Inside a scope a storage backend may keep the transaction of its
//! first read open and run the later ones in it, ending it when the scope ends; outside one,
//! each read stands alone.
//!
//! A scope covers one poll of one request's future ([`scoped`]), so it lasts microseconds and
//! never spans an `await` that waits: everything read in it was read after the request
//! arrived, and a transaction never stays open while a request waits on anything. A backend
//! must also end its snapshot before it writes, so that a request reads its own writes.

use std::any::Any;
use std::cell::RefCell;
use std::future::{poll_fn, Future};
use std::marker::PhantomData;
use std::pin::pin;

thread_local! {
    /// `Some` inside a scope: what backends parked in it, dropped when it ends.
    static PARKED: RefCell<Option<Vec<Box<dyn Any>>>> = const { RefCell::new(None) };
}

/// Runs `future` with every poll of it inside a read scope.
pub async fn scoped<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    poll_fn(|cx| {
        let _scope = Scope::enter();
        future.as_mut().poll(cx)
    })
    .await
}

/// Runs `work` inside a read scope (tests and synchronous callers).
pub fn within<T>(work: impl FnOnce() -> T) -> T {
    let _scope = Scope::enter();
    work()
}

/// Whether this thread is inside a read scope.
pub fn in_scope() -> bool {
    PARKED.with(|parked| parked.borrow().is_some())
}

/// Takes back the parked `T` that `pick` chooses, if this thread is in a scope and has one.
pub fn take<T: Any>(pick: impl Fn(&T) -> bool) -> Option<T> {
    PARKED.with(|parked| {
        let mut parked = parked.borrow_mut();
        let parked = parked.as_mut()?;
        let at = parked
            .iter()
            .position(|item| item.downcast_ref::<T>().is_some_and(&pick))?;
        let item = parked.swap_remove(at);
        Some(*item.downcast::<T>().expect("checked by position"))
    })
}

/// Parks `resource` until the scope ends, when it is dropped; outside a scope it is handed
/// back.
pub fn park<T: Any>(resource: T) -> Result<(), T> {
    PARKED.with(|parked| match parked.borrow_mut().as_mut() {
        Some(parked) => {
            parked.push(Box::new(resource));
            Ok(())
        }
        None => Err(resource),
    })
}

/// An entered scope; the outermost one drops what was parked in it when it ends.
struct Scope {
    opened: bool,
    /// Thread-bound: the scope is this thread's.
    _thread: PhantomData<*const ()>,
}

impl Scope {
    fn enter() -> Self {
        let opened = PARKED.with(|parked| {
            let mut parked = parked.borrow_mut();
            let open = parked.is_none();
            if open {
                *parked = Some(Vec::new());
            }
            open
        });
        Self {
            opened,
            _thread: PhantomData,
        }
    }
}

impl Drop for Scope {
    fn drop(&mut self) {
        if self.opened {
            // Taken out first: what is dropped may look at the scope (it is closed by then).
            let parked = PARKED.with(|parked| parked.borrow_mut().take());
            drop(parked);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::rc::Rc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    /// Counts its drops.
    struct Held(Arc<AtomicUsize>, u32);

    impl Drop for Held {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn outside_a_scope_nothing_is_parked() {
        assert!(!in_scope());
        let drops = Arc::new(AtomicUsize::new(0));
        let back = park(Held(drops.clone(), 1)).expect_err("handed back");
        assert_eq!(back.1, 1);
        assert!(take(|_: &Held| true).is_none());
    }

    #[test]
    fn parked_items_are_taken_by_choice_and_dropped_when_the_scope_ends() {
        let drops = Arc::new(AtomicUsize::new(0));
        within(|| {
            assert!(in_scope());
            assert!(park(Held(drops.clone(), 1)).is_ok());
            assert!(park(Held(drops.clone(), 2)).is_ok());
            assert!(park(Rc::new(7_u8)).is_ok());
            let two = take(|held: &Held| held.1 == 2).expect("parked");
            assert_eq!(two.1, 2);
            assert!(take(|held: &Held| held.1 == 2).is_none());
            drop(two);
            assert_eq!(drops.load(Ordering::SeqCst), 1);
            // A nested scope leaves the outer one's items alone.
            within(|| assert!(take(|held: &Held| held.1 == 1).is_some_and(|h| park(h).is_ok())));
            assert_eq!(drops.load(Ordering::SeqCst), 1);
        });
        assert_eq!(drops.load(Ordering::SeqCst), 2);
        assert!(!in_scope());
    }

    #[tokio::test]
    async fn each_poll_is_its_own_scope() {
        let drops = Arc::new(AtomicUsize::new(0));
        let seen = drops.clone();
        scoped(async move {
            assert!(park(Held(seen.clone(), 1)).is_ok());
            tokio::task::yield_now().await;
            // The first poll's scope ended at the yield, and with it what was parked.
            assert_eq!(seen.load(Ordering::SeqCst), 1);
            assert!(take(|_: &Held| true).is_none());
            assert!(park(Held(seen.clone(), 2)).is_ok());
        })
        .await;
        assert_eq!(drops.load(Ordering::SeqCst), 2);
        assert!(!in_scope());
    }

    #[test]
    fn a_panic_in_the_scope_still_drops_what_was_parked() {
        let drops = Arc::new(AtomicUsize::new(0));
        let seen = drops.clone();
        let result = std::panic::catch_unwind(move || {
            within(|| {
                assert!(park(Held(seen, 1)).is_ok());
                panic!("in the scope");
            })
        });
        assert!(result.is_err());
        assert_eq!(drops.load(Ordering::SeqCst), 1);
        assert!(!in_scope());
    }
}
