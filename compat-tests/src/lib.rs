//! Compatibility tests that drive the servers with real third-party clients and recorded Java traffic.
