//! Where a payment is in PayPing's life of it, as its report says.

/// Where a payment is, as PayPing's report says (`paymentStatus`).
///
/// ```
/// use ghesta_core::PaymentStatus;
///
/// assert_eq!(PaymentStatus::from_number(5), PaymentStatus::AwaitingVerify);
/// assert_eq!(PaymentStatus::from_number(9), PaymentStatus::Unknown(9));
/// assert_eq!(PaymentStatus::AwaitingVerify.number(), 5);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PaymentStatus {
    /// `0`: the payment code was created; the buyer has not reached the gateway.
    Created,
    /// `1`: paid and verified.
    Verified,
    /// `2`: the buyer entered the gateway and has not come back yet.
    OnGateway,
    /// `3`: cancelled.
    Cancelled,
    /// `4`: paid, but the bank-side verify failed.
    BankVerifyFailed,
    /// `5`: back from the gateway, waiting for the shop's verify.
    AwaitingVerify,
    /// A value PayPing had not documented when this SDK was written, kept as sent.
    Unknown(i64),
}

impl PaymentStatus {
    /// The status for PayPing's number.
    pub const fn from_number(number: i64) -> Self {
        match number {
            0 => Self::Created,
            1 => Self::Verified,
            2 => Self::OnGateway,
            3 => Self::Cancelled,
            4 => Self::BankVerifyFailed,
            5 => Self::AwaitingVerify,
            other => Self::Unknown(other),
        }
    }

    /// PayPing's number for the status.
    pub const fn number(self) -> i64 {
        match self {
            Self::Created => 0,
            Self::Verified => 1,
            Self::OnGateway => 2,
            Self::Cancelled => 3,
            Self::BankVerifyFailed => 4,
            Self::AwaitingVerify => 5,
            Self::Unknown(n) => n,
        }
    }
}
