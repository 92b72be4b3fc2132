//! `coffer-tests`: the integration tests in `tests/` build coffer's C and
//! C++ consumers with the system compiler against `libcoffer` and run them.
