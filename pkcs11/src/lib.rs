//! # coffer-pkcs11
//!
//! coffer's software HSM (`coffer-hsm`) as a PKCS#11 v2.40 module:
//! `libcoffer_pkcs11.so`, loaded by any PKCS#11 application
//! (`pkcs11-tool --module`, OpenSSL's pkcs11 provider, Java's SunPKCS11).
//! Its one slot shows one coffer slot of one keystore, kept in a SQLite
//! file or a PostgreSQL database, so several processes share one token.
//!
//! The module exports [`C_GetFunctionList`] and, for PKCS#11 3.0 loaders,
//! [`C_GetInterfaceList`] and [`C_GetInterface`] (one interface, "PKCS 11"
//! version 2.40, the same list); every other function is reached through
//! the `CK_FUNCTION_LIST` they return (types from `cryptoki-sys`). The keystore is named by the file in the
//! environment variable [`CONFIG_ENV`] (`COFFER_PKCS11_CONF`); README.md
//! has the format, how PKCS#11's users map to coffer's credentials, the
//! table of functions and mechanisms, and what is not implemented yet.
//!
//! | module | what |
//! | --- | --- |
//! | `function_list` | `C_GetFunctionList`, `C_GetInterfaceList`, `C_GetInterface` and the `CK_FUNCTION_LIST` they hand out |
//! | `boundary` | the panic boundary and the checked C pointer conversions |
//! | `config` | the configuration file |
//! | `module` | the state between `C_Initialize` and `C_Finalize`, behind one lock |
//! | `general` | `C_Initialize`, `C_Finalize`, `C_GetInfo` |
//! | `slot` | slot, token and mechanism information |
//! | `session` | sessions, login and logout |
//! | `pin` | `C_InitToken`, `C_InitPIN`, `C_SetPIN` |
//! | `random` | `C_GenerateRandom`, `C_SeedRandom` |
//! | `digest` | `C_Digest*` with `CKM_SHA256` |
//! | `object` | key objects over coffer's keys: handles and attributes |
//! | `find` | `C_FindObjects*` |
//! | `attribute` | `C_GetAttributeValue`, `C_SetAttributeValue`, `C_DestroyObject` |
//! | `template` | reading the templates applications pass |
//! | `keygen` | `C_GenerateKey`, `C_GenerateKeyPair` |
//! | `sign` | `C_Sign*`, `C_Verify*` |
//! | `cipher` | `C_Encrypt*`, `C_Decrypt*` with AES-GCM and RSA-OAEP |
//! | `wrap` | `C_WrapKey`, `C_UnwrapKey` with AES-KW, AES-KWP and RSA-OAEP |
//! | `params` | mechanism parameters (`param_of`, the OAEP label) |
//! | `asn1` | the DER of EC points, RSA public keys and ECDSA signatures |
//! | `unsupported` | the functions that return `CKR_FUNCTION_NOT_SUPPORTED` |
//! | `error` | coffer-hsm errors as `CKR_` codes |
//!
//! Thread safety: every entry point may be called from any thread; calls
//! are serialized by one internal lock (`CKF_OS_LOCKING_OK`; the module
//! never uses an application's mutex callbacks). No call unwinds into C: a
//! panic is `CKR_GENERAL_ERROR`.

mod asn1;
mod attribute;
mod boundary;
mod cipher;
mod config;
mod digest;
mod error;
mod find;
mod function_list;
mod general;
mod keygen;
mod module;
mod object;
mod params;
mod pin;
mod random;
mod session;
mod sign;
mod slot;
mod template;
mod unsupported;
mod wrap;

pub use config::CONFIG_ENV;
pub use function_list::{C_GetFunctionList, C_GetInterface, C_GetInterfaceList};
