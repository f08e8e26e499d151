//! The SQL92 property language of message selectors (Java's `SelectorParser` and `filter.expression`).
