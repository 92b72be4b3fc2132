//! See ../build_common.rs.
include!("../build_common.rs");
