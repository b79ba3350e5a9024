//! PayPing's payment error codes, each named, unknown ones kept.

use std::fmt;

macro_rules! codes {
    ($($(#[$doc:meta])* $name:ident = $num:literal, $text:literal;)*) => {
        /// A payment error code from PayPing: v2's (1-49, the spec's "payment errors"
        /// table) and v3's (101-165, `metaData.code` of a problem-details answer). The two
        /// ranges do not overlap, so one enum names both.
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
    V3InvalidInput = 101, "invalid input (v3)";
    V3NoActiveGateway = 102, "no active gateway for the merchant (v3)";
    V3TokenNotApproved = 103, "the merchant token is not approved (v3)";
    V3TestMerchantAmount = 104, "the amount is invalid for a test merchant (v3)";
    V3InvalidReturnUrl = 105, "invalid return URL (v3)";
    V3InternalServiceError = 106, "internal service error (v3)";
    V3BusinessRules = 107, "business rules not met (v3)";
    V3InternalServerError = 108, "internal server error (v3)";
    V3UnderReview = 109, "the payment is under review (v3)";
    V3AlreadyPaid = 110, "the payment was already done: already verified (v3)";
    V3MerchantBlocked = 111, "the merchant account is blocked (v3)";
    V3TestMerchantLimit = 112, "the test merchant's limit is reached (v3)";
    V3InvalidMobile = 113, "invalid mobile number (v3)";
    V3BankGatewayUnreachable = 114, "could not reach the bank gateway; retry (v3)";
    V3DuplicateBankData = 115, "duplicate bank data (v3)";
    V3InvalidSplitAccounts = 116, "invalid split accounts (v3)";
    V3DuplicateSplitIban = 117, "duplicate IBAN in a split (v3)";
    V3InvalidSplitAccountDetails = 118, "invalid split account details (v3)";
    V3VerifyNeedsSuccessfulPayment = 121, "verify needs a successful payment (v3)";
    V3PaymentNotFound = 122, "payment not found (v3)";
    V3TransactionAlreadyVerified = 123, "the transaction was already verified (v3)";
    V3WrongApiVersion = 124, "the transaction does not belong to this API version (v3)";
    V3StateConflict = 126, "conflicts with the payment's current state (v3)";
    V3CancelledOrTimedOut = 127, "the buyer cancelled on the gateway or the time ran out (v3)";
    V3NotBlocked = 128, "the payment is not blocked (v3)";
    V3AlreadyOnGateway = 129, "cannot delete: the payment already went to the gateway (v3)";
    V3CannotProcessNow = 130, "the payment code cannot be processed now; retry (v3)";
    V3InvalidState = 131, "the transaction is in an invalid state (v3)";
    V3StatusChangeNotAllowed = 132, "the status change is not allowed (v3)";
    V3InvalidPaymentInfo = 133, "invalid payment information (v3)";
    V3NotReversible = 134, "the transaction is not reversible (v3)";
    V3ReverseWindowExpired = 135, "the refund window has passed (v3)";
    V3WrongAmount = 137, "wrong amount (v3)";
    V3SharesDoNotAddUp = 138, "the shares do not add up to the total (v3)";
    V3VerifyInProgress = 155, "verification is in progress; retry (v3)";
    V3ReverseInProgress = 156, "the refund is in progress; retry (v3)";
    V3SplitIssue158 = 158, "a split, settlement or IBAN issue (v3)";
    V3SplitIssue159 = 159, "a split, settlement or IBAN issue (v3)";
    V3SplitIssue160 = 160, "a split, settlement or IBAN issue (v3)";
    V3SplitIssue161 = 161, "a split, settlement or IBAN issue (v3)";
    V3SplitIssue162 = 162, "a split, settlement or IBAN issue (v3)";
    V3SplitIssue163 = 163, "a split, settlement or IBAN issue (v3)";
    V3SplitIssue164 = 164, "a split, settlement or IBAN issue (v3)";
    V3SplitIssue165 = 165, "a split, settlement or IBAN issue (v3)";
}

impl PayPingCode {
    /// Whether PayPing means "try again": v2's 11, 25, 29 and 49; v3's 114 (bank gateway
    /// unreachable), 130 (cannot be processed now), 155 (verify in progress) and 156
    /// (refund in progress). v3's internal errors (106, 108) arrive with a 5xx status, which
    /// is retried as such; a code alone that says "internal error" under a 400 is not.
    pub const fn is_retryable(self) -> bool {
        matches!(
            self,
            Self::GatewayUnreachableRetry
                | Self::TemporarilyUnavailable
                | Self::GatewayUnreachable
                | Self::NoActiveTerminal
                | Self::V3BankGatewayUnreachable
                | Self::V3CannotProcessNow
                | Self::V3VerifyInProgress
                | Self::V3ReverseInProgress
        )
    }
}

/// The PayPing code a text names where PayPing writes codes as text (a key of v2's error
/// object, v3's callback `errorCode`): only a canonical decimal (`[1-9][0-9]*`, no sign,
/// spaces or leading zeros) names one. `"015"` is not code 15 ("already verified"): a loose
/// reading could turn a proxy's odd key into a reason to ship.
pub(crate) fn code_in_key(key: &str) -> Option<u32> {
    let bytes = key.as_bytes();
    let canonical =
        matches!(bytes.first(), Some(b'1'..=b'9')) && bytes.iter().all(u8::is_ascii_digit);
    if !canonical {
        return None;
    }
    key.parse().ok()
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
        let mut documented = vec![
            1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 15, 18, 19, 25, 26, 27, 28, 29, 31, 38, 39, 44,
            46, 47, 48, 49,
        ];
        // v3: 101-118, 121-124, 126-135, 137, 138, 155, 156, 158-165.
        documented.extend((101..=118).chain(121..=124).chain(126..=135));
        documented.extend([137, 138, 155, 156].into_iter().chain(158..=165));
        for n in documented {
            let code = PayPingCode::from_number(n);
            assert!(!matches!(code, PayPingCode::Other(_)), "{n} must be named");
            assert_eq!(code.number(), n);
        }
        for n in [
            0,
            13,
            14,
            16,
            50,
            100,
            119,
            120,
            125,
            136,
            139,
            157,
            166,
            u32::MAX,
        ] {
            assert_eq!(PayPingCode::from_number(n), PayPingCode::Other(n));
            assert_eq!(PayPingCode::from_number(n).number(), n);
        }
    }

    #[test]
    fn only_a_canonical_decimal_names_a_code() {
        assert_eq!(code_in_key("15"), Some(15));
        assert_eq!(code_in_key("110"), Some(110));
        for loose in [
            "015",
            "+15",
            " 15",
            "15 ",
            "0",
            "",
            "1.5",
            "-1",
            "99999999999",
            "١٥",
        ] {
            assert_eq!(code_in_key(loose), None, "{loose:?}");
        }
    }

    #[test]
    fn retryable_codes() {
        let retryable: Vec<u32> = (0..200)
            .filter(|n| PayPingCode::from_number(*n).is_retryable())
            .collect();
        assert_eq!(retryable, [11, 25, 29, 49, 114, 130, 155, 156]);
    }
}
