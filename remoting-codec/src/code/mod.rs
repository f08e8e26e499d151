//! Request and response codes. Filled in by the codes work.
