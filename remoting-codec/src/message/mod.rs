//! Message encodings. Filled in by the message work.
