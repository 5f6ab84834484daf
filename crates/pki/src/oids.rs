//! The object identifiers `const_oid::db` does not name: the CT arcs
//! 1.3.6.1.4.1.11129.2.4.* (RFC 6962). Every other OID comes from `const_oid::db`.

use const_oid::ObjectIdentifier;

/// CT precertificate poison, RFC 6962 §3.1.
pub const CT_POISON: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.11129.2.4.3");
/// Embedded SCT list extension, RFC 6962 §3.3.
pub const CT_SCT_LIST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.11129.2.4.2");
/// Precertificate Signing Certificate EKU, RFC 6962 §3.1.
pub const CT_PRECERT_SIGNING_EKU: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.11129.2.4.4");
