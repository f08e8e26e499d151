//! The message store (commitlog, consumequeue, index, checkpoint, config files). Filled by the store issue.
