//! The time a client reads and the waits it makes, injectable so that retry tests run
//! without real waits. What to wait for is the core's decision ([`RetryPolicy`]).
//!
//! [`RetryPolicy`]: ghesta_core::RetryPolicy

use std::time::{Duration, SystemTime};

/// The time source and the sleeper of a client, injectable so retry tests run without real
/// waits.
///
/// The client reads [`Clock::now`] for `created_at`, for a callback's arrival time (when not
/// given) and before each retry decision, and calls [`Clock::sleep`] between attempts. A
/// test clock advances its time in `sleep` instead of waiting:
///
/// ```
/// use std::sync::Mutex;
/// use std::time::{Duration, SystemTime};
/// use ghesta_blocking::Clock;
///
/// #[derive(Default)]
/// struct FakeClock(Mutex<Duration>);
///
/// impl Clock for FakeClock {
///     fn now(&self) -> SystemTime {
///         SystemTime::UNIX_EPOCH + *self.0.lock().unwrap()
///     }
///     fn sleep(&self, wait: Duration) {
///         *self.0.lock().unwrap() += wait;
///     }
/// }
///
/// let clock = FakeClock::default();
/// clock.sleep(Duration::from_secs(3));
/// assert_eq!(clock.now(), SystemTime::UNIX_EPOCH + Duration::from_secs(3));
/// ```
pub trait Clock: Send + Sync {
    /// The current time.
    fn now(&self) -> SystemTime;
    /// Blocks the calling thread for `wait`.
    fn sleep(&self, wait: Duration);
}

/// The real clock: [`SystemTime::now`] and [`std::thread::sleep`].
///
/// ```
/// use ghesta_blocking::{Clock, SystemClock};
/// assert!(SystemClock.now() > std::time::SystemTime::UNIX_EPOCH);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }

    fn sleep(&self, wait: Duration) {
        std::thread::sleep(wait);
    }
}
