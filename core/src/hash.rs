//! SHA-2 digests: SHA-256, SHA-384 and SHA-512.
//!
//! ```
//! use coffer_core::hash::{sha256, Sha256};
//!
//! let one_shot = sha256(b"abc");
//! let mut h = Sha256::new();
//! h.update(b"a");
//! h.update(b"bc");
//! assert_eq!(h.finalize(), one_shot);
//! assert_eq!(one_shot[..4], [0xba, 0x78, 0x16, 0xbf]);
//! ```

use sha2::Digest;

macro_rules! digest_type {
    ($name:ident, $inner:ty, $len:expr, $one_shot:ident, $doc:literal) => {
        #[doc = concat!("Incremental ", $doc, ".")]
        #[derive(Clone, Default)]
        pub struct $name($inner);

        impl $name {
            /// Starts a new digest.
            pub fn new() -> Self {
                Self(<$inner>::new())
            }

            /// Feeds more data.
            pub fn update(&mut self, data: &[u8]) {
                self.0.update(data);
            }

            /// Finishes and returns the digest.
            pub fn finalize(self) -> [u8; $len] {
                self.0.finalize().into()
            }
        }

        impl core::fmt::Debug for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str(stringify!($name))
            }
        }

        #[doc = concat!("One-shot ", $doc, " of `data`.")]
        pub fn $one_shot(data: &[u8]) -> [u8; $len] {
            <$inner>::digest(data).into()
        }
    };
}

/// Length of a SHA-256 digest in bytes.
pub const SHA256_LEN: usize = 32;
/// Length of a SHA-384 digest in bytes.
pub const SHA384_LEN: usize = 48;
/// Length of a SHA-512 digest in bytes.
pub const SHA512_LEN: usize = 64;

digest_type!(Sha256, sha2::Sha256, SHA256_LEN, sha256, "SHA-256");
digest_type!(Sha384, sha2::Sha384, SHA384_LEN, sha384, "SHA-384");
digest_type!(Sha512, sha2::Sha512, SHA512_LEN, sha512, "SHA-512");
