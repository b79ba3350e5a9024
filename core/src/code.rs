//! PayPing's payment error codes, each named, unknown ones kept.

use std::fmt;

macro_rules! codes {
    ($($(#[$doc:meta])* $name:ident = $num:literal, $text:literal;)*) => {
        /// A payment error code from PayPing (spec introduction, "payment errors" table).
        ///
        /// Every code PayPing documents has a name; any other number is kept as
        /// [`PayPingCode::Other`] so nothing PayPing says is dropped.
        ///
        /// ```
        /// use ghesta_core::PayPingCode;
        ///
        /// assert_eq!(PayPingCode::from_number(15), PayPingCode::AlreadyVerified);
        /// assert_eq!(PayPingCode::from_number(77), PayPingCode::Other(77));
        /// assert!(PayPingCode::from_number(25).is_retryable());
        /// ```
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum PayPingCode {
            $($(#[$doc])* #[doc = concat!("`", stringify!($num), "`: ", $text, ".")] $name,)*
            /// A code PayPing did not document when this SDK was written.
            Other(u32),
        }

        impl PayPingCode {
            /// The code for `number`.
            pub const fn from_number(number: u32) -> Self {
                match number {
                    $($num => Self::$name,)*
                    other => Self::Other(other),
                }
            }

            /// The code's number, as PayPing sends it.
            pub const fn number(self) -> u32 {
                match self {
                    $(Self::$name => $num,)*
                    Self::Other(n) => n,
                }
            }

            /// What the code means, in English.
            pub const fn description(self) -> &'static str {
                match self {
                    $(Self::$name => $text,)*
                    Self::Other(_) => "a code PayPing had not documented; see PayPing's message",
                }
            }
        }
    };
}

codes! {
    CancelledByBuyer = 1, "the buyer cancelled the payment";
    WrongPin = 2, "wrong card PIN";
    MissingCvv2OrExpiry = 3, "CVV2 or expiry date missing";
    InsufficientFunds = 4, "insufficient funds on the card";
    CardExpired = 5, "the card has expired or its expiry date was entered wrong";
    CardBlocked = 6, "the card is blocked";
    TransactionNotFound = 7, "the gateway could not find the transaction";
    IssuerRefused = 8, "the card's issuing bank refused the transaction";
    AmountProblem = 9, "there is a problem with the amount";
    WrongCardNumber = 10, "wrong card number";
    GatewayUnreachableRetry = 11, "could not reach the bank gateway; try again";
    BankInternalError = 12, "internal error at the bank";
    AlreadyVerified = 15, "this payment was already verified";
    MerchantNotApproved = 18, "the merchant account is not approved";
    MerchantIdentityIncomplete = 19, "the merchant's identity is incomplete (capped at 50,000 Toman in total)";
    TemporarilyUnavailable = 25, "the service is temporarily unavailable; retry later";
    PaymentCodeNotFound = 26, "payment code not found";
    AmountNotAllowed = 27, "the merchant is not allowed this amount";
    VpnDetected = 28, "the buyer must switch off their VPN";
    GatewayUnreachable = 29, "could not reach the bank gateway";
    BuyerNotAtBankYet = 31, "cannot verify before the buyer reached the bank page";
    InvalidMerchantSite = 38, "the merchant's site address is invalid";
    PaymentFailedRefunded = 39, "the payment failed; the money goes back to the payer";
    InvalidRefId = 44, "invalid refId";
    TokenMismatch = 46, "the token verifying the payment is not the one that created it";
    AmountMismatch = 47, "the amount differs from the payment's amount";
    NotConfirmedByShaparak = 48, "not finally confirmed by Shaparak";
    NoActiveTerminal = 49, "no active terminal; retry";
}

impl PayPingCode {
    /// Whether PayPing means "try again": codes 11, 25, 29 and 49.
    pub const fn is_retryable(self) -> bool {
        matches!(
            self,
            Self::GatewayUnreachableRetry
                | Self::TemporarilyUnavailable
                | Self::GatewayUnreachable
                | Self::NoActiveTerminal
        )
    }
}

impl fmt::Display for PayPingCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.number(), self.description())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_code_round_trips() {
        let documented = [
            1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 15, 18, 19, 25, 26, 27, 28, 29, 31, 38, 39, 44,
            46, 47, 48, 49,
        ];
        for n in documented {
            let code = PayPingCode::from_number(n);
            assert!(!matches!(code, PayPingCode::Other(_)), "{n} must be named");
            assert_eq!(code.number(), n);
        }
        for n in [0, 13, 14, 16, 50, u32::MAX] {
            assert_eq!(PayPingCode::from_number(n), PayPingCode::Other(n));
            assert_eq!(PayPingCode::from_number(n).number(), n);
        }
    }

    #[test]
    fn retryable_codes() {
        let retryable: Vec<u32> = (0..100)
            .filter(|n| PayPingCode::from_number(*n).is_retryable())
            .collect();
        assert_eq!(retryable, [11, 25, 29, 49]);
    }
}
