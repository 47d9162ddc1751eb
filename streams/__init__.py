"""The library under the consumers and producers: config, clients, stores, and the local stack."""
