//! The routes requests are counted and faulted by, and what a face's route table makes of a
//! request's method and path.

use hyper::Method;

/// A group of sandbox routes that faults and request counts are keyed by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Route {
    /// `POST /v2/pay`, `POST /v3/pay`.
    Create,
    /// `POST /v2/pay/verify`, `POST /v3/pay/verify`.
    Verify,
    /// `DELETE /v2/pay/{code}`, `DELETE /v3/pay`.
    Cancel,
    /// `GET /v1/report/{code}`.
    Report,
    /// The buyer's pages: `GET /installment/{code}`, `GET /v2/pay/gotoipg/{code}`,
    /// `GET /v3/pay/start/{code}`, `POST /installment/{code}/{approve|cancel|fail}`.
    Gateway,
    /// `POST /v3/pay/reverse` (v3's refund).
    Refund,
}

impl Route {
    /// Every route, in a fixed order.
    pub const ALL: [Route; 6] = [
        Route::Create,
        Route::Verify,
        Route::Cancel,
        Route::Report,
        Route::Gateway,
        Route::Refund,
    ];

    /// The name used by the HTTP control endpoints: `create`, `verify`, `cancel`, `report`,
    /// `gateway`, `refund`.
    pub fn name(self) -> &'static str {
        match self {
            Route::Create => "create",
            Route::Verify => "verify",
            Route::Cancel => "cancel",
            Route::Report => "report",
            Route::Gateway => "gateway",
            Route::Refund => "refund",
        }
    }

    /// The route with this [`name`](Route::name).
    pub fn from_name(name: &str) -> Option<Route> {
        Route::ALL.into_iter().find(|r| r.name() == name)
    }

    pub(crate) fn index(self) -> usize {
        match self {
            Route::Create => 0,
            Route::Verify => 1,
            Route::Cancel => 2,
            Route::Report => 3,
            Route::Gateway => 4,
            Route::Refund => 5,
        }
    }
}

/// What one protocol face's route table makes of a request's method and path.
pub(crate) enum Routed<C> {
    /// A known path and method: counted and faulted under this route, then called.
    Call(Route, C),
    /// A known path asked with another method: 405 with this `Allow`.
    WrongMethod(String),
    /// Not a path of this face.
    Unknown,
}

impl<C> Routed<C> {
    /// `Call` when the method is the one the path takes, else `WrongMethod`.
    pub(crate) fn check(method: &Method, allowed: Method, route: Route, call: C) -> Routed<C> {
        if *method == allowed {
            Routed::Call(route, call)
        } else {
            Routed::WrongMethod(allowed.as_str().to_owned())
        }
    }

    /// This, unless the path is not this face's: then what `next` makes of it.
    pub(crate) fn or_else(self, next: impl FnOnce() -> Routed<C>) -> Routed<C> {
        match self {
            Routed::Unknown => next(),
            known => known,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_names_round_trip() {
        for r in Route::ALL {
            assert_eq!(Route::from_name(r.name()), Some(r));
        }
        assert_eq!(Route::from_name("nope"), None);
    }
}
