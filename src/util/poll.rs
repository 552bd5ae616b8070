//! Running a future that never waits (wadm-types' validators are `async` but do no I/O)
//! without a runtime, so sync code and code inside a runtime can both call it.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

/// Polls `fut` once with a waker that does nothing: `Some(output)` when it completed, `None`
/// when it is still pending (it waits on something after all). A caller must treat `None` as
/// a failure, never as an empty result.
pub fn ready<F: Future>(fut: F) -> Option<F::Output> {
    let mut fut = pin!(fut);
    let mut cx = Context::from_waker(Waker::noop());
    match fut.as_mut().poll(&mut cx) {
        Poll::Ready(v) => Some(v),
        Poll::Pending => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_and_pending() {
        assert_eq!(ready(async { 7 }), Some(7));
        assert_eq!(ready(std::future::pending::<u8>()), None);
    }
}
