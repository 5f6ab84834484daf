//! What every store needs between Rust values and SQL columns, and its one way of
//! taking a lock.

use std::sync::{Mutex, MutexGuard};

use crate::{Result, StoreError};

/// Locks a mutex, ignoring poisoning: each store's critical sections either leave
/// their state consistent or hold an open transaction, which a panic unwinding
/// through it rolls back.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// SQL integers are signed 64-bit (SQLite's INTEGER, PostgreSQL's BIGINT): sizes,
/// indexes and timestamps beyond `i64::MAX` are not representable (and not reachable
/// by a real log).
pub(crate) fn to_i64(value: u64) -> Result<i64> {
    i64::try_from(value)
        .map_err(|_| StoreError::Corrupt(format!("{value} does not fit in a 64-bit SQL integer")))
}

/// A stored integer read back as unsigned; negative means the row was not ours.
pub(crate) fn to_u64(value: i64) -> Result<u64> {
    u64::try_from(value).map_err(|_| StoreError::Corrupt(format!("negative stored value {value}")))
}

/// A stored 32-byte hash; any other length means a corrupt row.
pub(crate) fn to_hash(bytes: &[u8], what: &str) -> Result<[u8; 32]> {
    <[u8; 32]>::try_from(bytes)
        .map_err(|_| StoreError::Corrupt(format!("{what} is {} bytes, not 32", bytes.len())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_range_values_are_corrupt_not_panics() {
        assert_eq!(to_i64(7).unwrap(), 7);
        assert!(matches!(to_i64(u64::MAX), Err(StoreError::Corrupt(_))));
        assert_eq!(to_u64(7).unwrap(), 7);
        assert!(matches!(to_u64(-1), Err(StoreError::Corrupt(_))));
        assert_eq!(to_hash(&[1; 32], "root").unwrap(), [1; 32]);
        let err = to_hash(&[1; 31], "root").unwrap_err();
        assert!(err.to_string().contains("root is 31 bytes"), "{err}");
    }
}
