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
use std::cell::{Cell, RefCell};
use std::future::{poll_fn, Future};
use std::marker::PhantomData;
use std::pin::pin;

thread_local! {
    /// Whether this thread is inside a scope.
    static OPEN: Cell<bool> = const { Cell::new(false) };
    /// What backends parked in the scope, dropped when it ends. Boxed once by their owner and
    /// moved in and out as boxes; the list keeps its room from one scope to the next.
    static PARKED: RefCell<Vec<Box<dyn Any>>> = const { RefCell::new(Vec::new()) };
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
    OPEN.get()
}

/// Takes back the parked `T` that `pick` chooses, if this thread has one.
pub fn take<T: Any>(pick: impl Fn(&T) -> bool) -> Option<Box<T>> {
    PARKED.with_borrow_mut(|parked| {
        let at = parked
            .iter()
            .position(|item| item.downcast_ref::<T>().is_some_and(&pick))?;
        parked.swap_remove(at).downcast::<T>().ok()
    })
}

/// Parks `resource` until the scope ends, when it is dropped; outside a scope it is handed
/// back.
pub fn park<T: Any>(resource: Box<T>) -> Result<(), Box<T>> {
    if !in_scope() {
        return Err(resource);
    }
    PARKED.with_borrow_mut(|parked| parked.push(resource));
    Ok(())
}

/// An entered scope; the outermost one drops what was parked in it when it ends.
struct Scope {
    opened: bool,
    /// Thread-bound: the scope is this thread's.
    _thread: PhantomData<*const ()>,
}

impl Scope {
    fn enter() -> Self {
        Self {
            opened: !OPEN.replace(true),
            _thread: PhantomData,
        }
    }
}

impl Drop for Scope {
    fn drop(&mut self) {
        if !self.opened {
            return;
        }
        OPEN.set(false);
        // One at a time, outside the borrow: what is dropped may look at the scope (it is
        // closed by then).
        while let Some(item) = PARKED.with_borrow_mut(Vec::pop) {
            drop(item);
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
        let back = park(Box::new(Held(drops.clone(), 1))).expect_err("handed back");
        assert_eq!(back.1, 1);
        assert!(take(|_: &Held| true).is_none());
    }

    #[test]
    fn parked_items_are_taken_by_choice_and_dropped_when_the_scope_ends() {
        let drops = Arc::new(AtomicUsize::new(0));
        within(|| {
            assert!(in_scope());
            assert!(park(Box::new(Held(drops.clone(), 1))).is_ok());
            assert!(park(Box::new(Held(drops.clone(), 2))).is_ok());
            assert!(park(Box::new(Rc::new(7_u8))).is_ok());
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
            assert!(park(Box::new(Held(seen.clone(), 1))).is_ok());
            tokio::task::yield_now().await;
            // The first poll's scope ended at the yield, and with it what was parked.
            assert_eq!(seen.load(Ordering::SeqCst), 1);
            assert!(take(|_: &Held| true).is_none());
            assert!(park(Box::new(Held(seen.clone(), 2))).is_ok());
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
                assert!(park(Box::new(Held(seen, 1))).is_ok());
                panic!("in the scope");
            })
        });
        assert!(result.is_err());
        assert_eq!(drops.load(Ordering::SeqCst), 1);
        assert!(!in_scope());
    }
}
