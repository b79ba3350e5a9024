//! The error for a value that failed validation: which field, which rule.

use std::fmt;

/// A value that was refused when it was built, naming the field and the rule it broke.
///
/// Every typed value of this crate (amount, mobile, return URL, identifiers, token, base URLs)
/// is checked once, at construction; this is the error that check gives. It is always a
/// problem with the caller's input, never with the network: fix the value, do not retry.
///
/// ```
/// use ghesta_core::{Amount, Field};
///
/// let err = Amount::from_toman(50).unwrap_err();
/// assert_eq!(err.field(), Field::Amount);
/// assert!(err.to_string().contains("100"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {field}: {rule}")]
pub struct InvalidInput {
    field: Field,
    rule: Rule,
}

impl InvalidInput {
    pub(crate) const fn new(field: Field, rule: Rule) -> Self {
        Self { field, rule }
    }

    /// The field whose value was refused.
    pub const fn field(&self) -> Field {
        self.field
    }

    /// The rule the value broke.
    pub const fn rule(&self) -> &Rule {
        &self.rule
    }
}

/// The fields this crate validates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Field {
    /// The payment amount.
    Amount,
    /// The buyer's mobile number (`payerIdentity` on the wire).
    Mobile,
    /// The URL PayPing sends the buyer back to (`returnUrl`).
    ReturnUrl,
    /// The shop's own reference for the payment (`clientRefId`).
    ClientRefId,
    /// The buyer's name (`payerName`).
    PayerName,
    /// The payment description.
    Description,
    /// The payment code PayPing gives on create.
    PaymentCode,
    /// The payment reference (`refId`) the callback carries.
    RefId,
    /// The PayPing API token.
    Token,
    /// The PayPing API base URL.
    ApiUrl,
    /// The payment page (gateway) base URL.
    GatewayUrl,
    /// The masked card number a callback or verify carries.
    CardNumber,
    /// The card hash a callback or verify carries.
    CardHash,
    /// The verify window.
    VerifyWindow,
    /// The payment page a stored [`Pending`](crate::Pending) sends the buyer to.
    RedirectUrl,
    /// Whether a payment is created reversible (refundable, v3 only).
    Reversible,
    /// The protocol a callback or record speaks (PayPing v2 or v3).
    Protocol,
    /// The shop's name for one of its PayPing accounts ([`MerchantKey`](crate::MerchantKey)).
    MerchantKey,
}

impl Field {
    /// The field's name in plain words, the same whichever protocol carries it (each
    /// protocol spells it its own way on the wire: v2's `refid` is v3's `paymentRefId`).
    ///
    /// ```
    /// assert_eq!(ghesta_core::Field::RefId.name(), "payment reference");
    /// ```
    pub const fn name(self) -> &'static str {
        match self {
            Self::Amount => "amount",
            Self::Mobile => "mobile number",
            Self::ReturnUrl => "return URL",
            Self::ClientRefId => "client reference",
            Self::PayerName => "payer name",
            Self::Description => "description",
            Self::PaymentCode => "payment code",
            Self::RefId => "payment reference",
            Self::Token => "token",
            Self::ApiUrl => "API base URL",
            Self::GatewayUrl => "gateway base URL",
            Self::CardNumber => "card number",
            Self::CardHash => "card hash",
            Self::VerifyWindow => "verify window",
            Self::RedirectUrl => "redirect URL",
            Self::Reversible => "reversible",
            Self::Protocol => "protocol",
            Self::MerchantKey => "merchant key",
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The rule a refused value broke; its `Display` says what to do instead.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Rule {
    /// The value is empty.
    Empty,
    /// The value is longer than the SDK allows.
    TooLong {
        /// The largest length allowed, in characters.
        max: usize,
    },
    /// The value holds a control character (or a bidirectional formatting character).
    ControlCharacter,
    /// A number outside its allowed range.
    OutOfRange {
        /// The smallest value allowed.
        min: u64,
        /// The largest value allowed.
        max: u64,
        /// The value given.
        got: u64,
    },
    /// A Rial amount that is not a whole number of Toman.
    NotWholeToman {
        /// The Rial value given.
        rial: u64,
    },
    /// Not an Iranian mobile number.
    NotAMobile,
    /// Not an absolute URL.
    NotAbsoluteUrl,
    /// A URL whose scheme is not https (or http on a loopback host).
    InsecureScheme,
    /// A URL with user information (`user:password@`) in it.
    UserInfo,
    /// A URL with a query or fragment where none is allowed.
    QueryOrFragment,
    /// A token with characters an HTTP header cannot carry.
    NotHeaderSafe,
    /// A duration of zero.
    Zero,
    /// A URL with a `#fragment`: PayPing would drop or mangle it.
    Fragment,
    /// A payment code of `.` or `..`, which a URL would read as a directory step.
    DotSegment,
    /// An identifier made only of whitespace. PayPing never sends one.
    Blank,
    /// An identifier that starts or ends with whitespace. PayPing never sends one, and a
    /// padded reference would reach verify as a different one.
    Padded,
    /// A URL whose port is not a number in 1..=65535.
    InvalidPort,
    /// A stored redirect that points at a host other than PayPing's payment pages (or a
    /// loopback sandbox).
    RedirectHost,
    /// A stored redirect that is not the page this payment's code and gateway give.
    RedirectMismatch,
    /// A setting the record's gateway does not have (a reversible v2 payment).
    NotOnThisGateway,
    /// A payment reference that v3 needs as an integer and is not one.
    NotAnInteger,
    /// A URL whose host is in brackets but is not an IPv6 address (`http://[127.0.0.1]/`):
    /// browsers refuse such a URL.
    NotAnIpv6Literal,
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("it is empty; give a value"),
            Self::TooLong { max } => write!(f, "it is longer than {max} characters; shorten it"),
            Self::ControlCharacter => f.write_str(
                "it contains a control or bidirectional formatting character; remove it",
            ),
            Self::OutOfRange { min, max, got } => {
                write!(f, "{got} is outside {min}..={max}")
            }
            Self::NotWholeToman { rial } => write!(
                f,
                "{rial} Rial is not a whole number of Toman (1 Toman = 10 Rial); round it"
            ),
            Self::NotAMobile => f.write_str(
                "not an Iranian mobile number; expected 09xxxxxxxxx (Persian digits, spaces, \
                 dashes and +98/0098/98 prefixes are accepted)",
            ),
            Self::NotAbsoluteUrl => {
                f.write_str("not an absolute URL; give scheme and host, e.g. https://shop.example/")
            }
            Self::InsecureScheme => f.write_str(
                "the scheme must be https (plain http is allowed only for loopback hosts)",
            ),
            Self::UserInfo => f.write_str("a URL must not carry user:password@; remove it"),
            Self::QueryOrFragment => f.write_str("a base URL must not have a query or fragment"),
            Self::NotHeaderSafe => f.write_str(
                "it contains characters an HTTP header cannot carry; copy the token again",
            ),
            Self::Zero => f.write_str("it must be longer than zero"),
            Self::Fragment => f.write_str("a URL must not have a #fragment; remove it"),
            Self::DotSegment => f.write_str("`.` and `..` cannot be a payment code"),
            Self::Blank => f.write_str("it is only whitespace; give a value"),
            Self::Padded => f.write_str("it starts or ends with whitespace; trim it"),
            Self::InvalidPort => f.write_str("the port must be a number from 1 to 65535"),
            Self::RedirectHost => f.write_str(
                "it points at a host other than PayPing's payment pages or a loopback \
                 sandbox; the stored record may have been tampered with, do not use it",
            ),
            Self::NotOnThisGateway => f.write_str(
                "the payment's gateway has no such setting (only PayPing v3 payments are \
                 reversible)",
            ),
            Self::NotAnInteger => {
                f.write_str("PayPing v3 sends and expects it as a whole number; this one is not")
            }
            Self::NotAnIpv6Literal => f.write_str(
                "only an IPv6 address goes in [brackets] (e.g. http://[::1]:8080/); write an \
                 IPv4 address or a host name without them",
            ),
            Self::RedirectMismatch => f.write_str(
                "it is not the payment page of this record's code; the stored record may \
                 have been tampered with, do not use it",
            ),
        }
    }
}
