//! fastjson-compatible JSON. Filled in by the fastjson work.
